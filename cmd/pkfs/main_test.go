package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// pkfs runs the CLI in-process and returns its exit code and output.
func pkfs(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(ctx, append([]string{"pkfs"}, args...), strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// testEnv gives the test a password and the cheapest hashing costs.
func testEnv(t *testing.T) {
	t.Setenv(envPassword, "test-password")
	t.Setenv(envOpsLimit, "min")
	t.Setenv(envMemLimit, "min")
	t.Setenv(envNodePath, "")
	t.Setenv(envPasswordFile, "")
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir()) // agent sockets and logs: not in /tmp/pkfs-<uid>
}

func initNode(t *testing.T, path string) string {
	t.Helper()
	code, out, errOut := pkfs(t, context.Background(), "init", "--node-path", path, "--format", "json")
	if code != 0 {
		t.Fatalf("init: %d %s", code, errOut)
	}
	var res initResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.NodeID == "" {
		t.Fatalf("init output %q: %v", out, err)
	}
	return res.NodeID
}

func TestEveryLeafHasTheCommonFlags(t *testing.T) {
	app := newApp(nil, nil, nil)
	leaves := 0
	walkCommands(app.Commands, func(c *cli.Command) {
		if len(c.Subcommands) > 0 {
			return
		}
		leaves++
		var names []string
		for _, f := range c.Flags {
			names = append(names, f.Names()...)
		}
		for _, want := range []string{"node-path", "password-file", "format", "verbose", "v"} {
			if !slices.Contains(names, want) {
				t.Errorf("%s lacks --%s", c.Name, want)
			}
		}
	})
	if leaves < 7 {
		t.Fatalf("only %d leaf commands", leaves)
	}
}

// A flag after the subcommand wins over the same flag before it, and both
// win over the environment.
func TestCommonFlagPrecedence(t *testing.T) {
	testEnv(t)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	idA, idB := initNode(t, a), initNode(t, b)
	t.Setenv(envNodePath, a)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"keys", "public"}, idA},
		{[]string{"--node-path", b, "keys", "public"}, idB},
		{[]string{"keys", "public", "--node-path", b}, idB},
		{[]string{"--node-path", a, "keys", "public", "--node-path", b}, idB},
		{[]string{"--node-path=" + b, "keys", "public"}, idB},
	} {
		code, out, errOut := pkfs(t, context.Background(), append(tc.args, "--format", "json")...)
		if code != 0 || !strings.Contains(out, tc.want) {
			t.Errorf("%v: exit %d, %q %q; want %s", tc.args, code, out, errOut, tc.want)
		}
	}
}

func TestReorderArgs(t *testing.T) {
	app := newApp(nil, nil, nil)
	for in, want := range map[string]string{
		"keys sign f --format json":           "keys sign --format json f",
		"keys verify f s n -v":                "keys verify -v f s n",
		"--format json keys public":           "--format json keys public",
		"keys sign --format json f":           "keys sign --format json f",
		"keys sign f -- --format":             "keys sign f -- --format",
		"keys sign - --node-path x":           "keys sign --node-path x -",
		"keys sign f --format=json":           "keys sign --format=json f",
		"init --fresh --password-ops-limit 1": "init --fresh --password-ops-limit 1",
		"keys bogus --format json":            "keys bogus --format json",
		"bootstrap --format json":             "bootstrap --format json",
	} {
		got := reorderArgs(app, append([]string{"pkfs"}, strings.Fields(in)...))
		if strings.Join(got[1:], " ") != want {
			t.Errorf("%q -> %q, want %q", in, strings.Join(got[1:], " "), want)
		}
	}
}

func TestReadSecretFile(t *testing.T) {
	dir := t.TempDir()
	for content, want := range map[string]string{
		"pw\n": "pw", "pw\r\n": "pw", "pw": "pw", "pw\n\n": "pw\n", " pw \n": " pw ", "": "",
	} {
		p := filepath.Join(dir, "f")
		os.WriteFile(p, []byte(content), 0o600)
		got, err := readSecretFile(p, "password")
		if err != nil || string(got) != want {
			t.Errorf("%q: %q %v, want %q", content, got, err, want)
		}
	}
	big := filepath.Join(dir, "big")
	os.WriteFile(big, make([]byte, maxSecretFile+1), 0o600)
	if _, err := readSecretFile(big, "password"); exitCode(err) != ExitTooLarge {
		t.Errorf("large file: %v", err)
	}
	if _, err := readSecretFile(filepath.Join(dir, "none"), "password"); exitCode(err) != ExitNotFound {
		t.Errorf("missing file: %v", err)
	}
}

// A SIGINT (a cancelled context) before init writes anything stops it with
// exit code 130 and creates no node.
func TestInterruptedInitCreatesNothing(t *testing.T) {
	testEnv(t)
	p := filepath.Join(t.TempDir(), "node")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	code, out, errOut := pkfs(t, ctx, "init", "--node-path", p)
	if code != ExitInterrupted || out != "" || errOut != "pkfs: interrupted\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(p, "VERSION")); !os.IsNotExist(err) {
		t.Fatalf("a node was created: %v", err)
	}
}

func TestUsageErrorsPrintOneLine(t *testing.T) {
	testEnv(t)
	for _, args := range [][]string{{"keys", "public", "--bogus"}, {"nope"}, {"keys", "sign"}, {"init", "--format", "xml"}} {
		code, out, errOut := pkfs(t, context.Background(), args...)
		if code != ExitUsage || out != "" || !strings.HasPrefix(errOut, "pkfs: ") || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
}
