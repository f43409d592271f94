package integration

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// cliNode is a pkfs node path in a test's temporary directory, driven through
// the built binary.
type cliNode struct {
	t    testing.TB
	bin  string
	path string
	env  []string
}

// newNode inits a node (cheapest password costs) with the binary in binDir.
func newNode(t testing.TB, binDir string) *cliNode {
	t.Helper()
	dir := t.TempDir()
	n := &cliNode{t: t, bin: filepath.Join(binDir, "pkfs"), path: filepath.Join(dir, "node")}
	n.env = append(os.Environ(),
		"PK_NODE_PATH="+n.path, "PK_PASSWORD=pw", "HOME="+dir,
		"PK_PASSWORD_OPS_LIMIT=min", "PK_PASSWORD_MEM_LIMIT=min",
		"GORACE=halt_on_error=1 atexit_sleep_ms=0")
	n.ok(nil, "init", "--format", "json")
	return n
}

// command returns pkfs with args, in the node's environment.
func (n *cliNode) command(args ...string) *exec.Cmd {
	cmd := exec.Command(n.bin, args...)
	cmd.Env = n.env
	return cmd
}

// run runs pkfs with stdin (nil: empty) and returns stdout, stderr and the
// exit code.
func (n *cliNode) run(stdin io.Reader, args ...string) (string, string, int) {
	n.t.Helper()
	cmd := n.command(args...)
	cmd.Stdin = stdin
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return out.String(), errb.String(), ee.ExitCode()
	case err != nil:
		n.t.Fatalf("pkfs %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errb.String(), 0
}

// ok runs pkfs and fails the test unless it exits 0; it returns stdout.
func (n *cliNode) ok(stdin io.Reader, args ...string) string {
	n.t.Helper()
	out, errs, code := n.run(stdin, args...)
	if code != 0 {
		n.t.Fatalf("pkfs %s: exit %d: %s", strings.Join(args, " "), code, errs)
	}
	return out
}

// fails runs pkfs, requires exit code want, and returns stdout and stderr.
func (n *cliNode) fails(want int, stdin io.Reader, args ...string) (string, string) {
	n.t.Helper()
	out, errs, code := n.run(stdin, args...)
	if code != want {
		n.t.Fatalf("pkfs %s: exit %d, want %d (stderr %q)", strings.Join(args, " "), code, want, errs)
	}
	return out, errs
}

// jsonOK runs pkfs with --format json and decodes its output into v.
func (n *cliNode) jsonOK(v any, stdin io.Reader, args ...string) {
	n.t.Helper()
	out := n.ok(stdin, append(args, "--format", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		n.t.Fatalf("pkfs %s: output is not JSON: %v: %q", strings.Join(args, " "), err, out)
	}
}

// logIDs returns the commit IDs of a vault, newest first.
func (n *cliNode) logIDs(vault string) []string {
	n.t.Helper()
	var log []struct {
		CommitID string `json:"commitId"`
	}
	n.jsonOK(&log, nil, "vaults", "log", vault)
	ids := make([]string, len(log))
	for i, e := range log {
		ids[i] = e.CommitID
	}
	return ids
}

// write writes content to VAULT:PATH and returns the commit ID.
func (n *cliNode) write(target string, content []byte) string {
	n.t.Helper()
	var res struct {
		CommitID string `json:"commitId"`
	}
	n.jsonOK(&res, bytes.NewReader(content), "secrets", "write", target)
	return res.CommitID
}
