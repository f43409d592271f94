package integration

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/joho/godotenv"
)

// envValues are values that quoting gets wrong: every character a shell or a
// dotenv parser treats specially, at the start, in the middle and at the end.
var envValues = []string{
	"plain",
	"",
	"it's",
	`say "hi"`,
	`$HOME and ${PATH} and $(id) and ` + "`id`",
	"line one\nline two\n",
	`C:\path\to\file`,
	`back\slash\n is not a newline`,
	`'single' "double" $dollar \back` + "\nnewline",
	`"starts and ends with quotes"`,
	`ends with a quote"`,
	`ends with a backslash\`,
	`\\`,
	`"`,
	`'`,
	`\`,
	`$`,
	"  leading and trailing spaces  ",
	"a # not a comment",
	"#",
	"tab\there",
	"carriage\rreturn",
	"crlf\r\nline",
	"ends with crlf\r\n",
	"unicode: héllo wörld ✓",
	"key=value=more",
	`\$HOME stays`,
	`\"`,
	`\'`,
	"export X=1",
	`don't end with a quote"`,
	`don't end with a backslash\`,
}

// The three output formats of secrets env give back the exact values:
// dotenv through godotenv (the parser the dotenv output targets), unix
// through eval in sh, json through encoding/json; and a command run by
// secrets env sees them in its environment.
func TestEnvRoundTrip(t *testing.T) {
	n := newNode(t, pkfsBinDir(t))
	n.ok(nil, "vaults", "create", "v")
	want := map[string]string{}
	for i, val := range envValues {
		name := fmt.Sprintf("V%02d", i)
		n.write("v:env/"+name, []byte(val))
		want[name] = val
	}

	var gotJSON map[string]string
	n.jsonOK(&gotJSON, nil, "secrets", "env", "v:env", "--env-format", "json")
	compareEnv(t, "json", gotJSON, want)

	dotenv := n.ok(nil, "secrets", "env", "v:env", "--env-format", "dotenv")
	gotDotenv, err := godotenv.Unmarshal(dotenv)
	if err != nil {
		t.Fatalf("godotenv cannot parse the dotenv output: %v\n%s", err, dotenv)
	}
	compareEnv(t, "dotenv", gotDotenv, want)

	// eval the unix output in sh, then print the environment NUL-separated.
	script := `eval "$(pkfs secrets env v:env)" && exec env -0`
	cmd := n.command()
	cmd.Path, cmd.Args = "/bin/sh", []string{"sh", "-c", script}
	cmd.Env = append(cmd.Env, "PATH="+pkfsBinDir(t)+":/usr/bin:/bin")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("eval in sh: %v", err)
	}
	compareEnv(t, "unix (eval in sh)", parseEnv0(out, want), want)

	// exec: the command gets the secrets in its environment.
	exec0 := n.ok(nil, "secrets", "env", "v:env", "--", "env", "-0")
	compareEnv(t, "exec", parseEnv0([]byte(exec0), want), want)
}

// parseEnv0 returns the variables of env -0 output whose names are in want.
func parseEnv0(out []byte, want map[string]string) map[string]string {
	got := map[string]string{}
	for _, kv := range strings.Split(string(out), "\x00") {
		k, v, _ := strings.Cut(kv, "=")
		if _, ok := want[k]; ok {
			got[k] = v
		}
	}
	return got
}

func compareEnv(t *testing.T, format string, got, want map[string]string) {
	t.Helper()
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if g, ok := got[k]; !ok {
			t.Errorf("%s: %s (%q) is missing", format, k, want[k])
		} else if g != want[k] {
			t.Errorf("%s: %s is %q, want %q", format, k, g, want[k])
		}
	}
	if len(got) != len(want) {
		t.Errorf("%s: %d variables, want %d", format, len(got), len(want))
	}
}

// A value that godotenv cannot read back (it ends in a backslash and holds a
// quote and a $) is refused in dotenv format with a clear error and nothing
// printed; the other formats carry it.
func TestEnvDotenvUnrepresentable(t *testing.T) {
	n := newNode(t, pkfsBinDir(t))
	n.ok(nil, "vaults", "create", "v")
	val := `it's $5\`
	n.write("v:A", []byte("fine"))
	n.write("v:B", []byte(val))
	n.write("v:more/C", []byte("a line\nthen a backslash\\"))
	n.fails(3, nil, "secrets", "env", "v:more", "--env-format", "dotenv")
	out, errs := n.fails(3, nil, "secrets", "env", "v", "--env-format", "dotenv")
	if out != "" || !strings.Contains(errs, `pkfs: cannot write B in dotenv format: the value ends in " or \ and cannot be quoted for dotenv (use --env-format unix or json)`) {
		t.Fatalf("stdout %q, stderr %q", out, errs)
	}
	var got map[string]string
	n.jsonOK(&got, nil, "secrets", "env", "v", "--env-format", "json")
	if got["B"] != val || got["C"] != "a line\nthen a backslash\\" {
		t.Fatalf("json: %q", got["B"])
	}
	if out := n.ok(nil, "secrets", "env", "v:B"); out != "export B='it'\\''s $5\\'\n" {
		t.Fatalf("unix: %q", out)
	}
}
