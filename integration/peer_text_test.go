package integration

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// Text that a peer controls — a notification's message, the name of a
// vault it shares, the names of the files in it and so the commit messages
// of a replica — reaches the terminal escaped in human format, and exact
// (with the same characters escaped the JSON way) in JSON: an escape
// sequence cannot clear the screen, set the title, move the cursor or
// reverse what is shown (issue 9.9).
func TestPeerTextIsEscapedOnTheTerminal(t *testing.T) {
	a, b := newPeerNode(t, "A", false), newPeerNode(t, "B", false)
	a.start(0, nil)
	b.start(0, nil)
	a.add(b)
	b.add(a)
	b.ok("identities", "trust", a.id)

	msg := "hi\x1b[2J\x1b]0;pwned\x07 osc-st\x1b]2;t\x1b\\ cr\rbel\x07 c1\u009b31m bidi\u202eevil\u2066 sep\u2028 del\x7f end"
	a.ok("notifications", "send", b.id, msg)
	vault := "rep\u202egnp.exe"
	file := "\x1b]0;title\x07file\r"
	a.ok("vaults", "create", vault)
	a.write(vault+":"+file, "content")
	a.ok("vaults", "share", vault, b.id)
	b.ok("vaults", "clone", vault, a.id)

	for _, args := range [][]string{
		{"notifications", "read"},
		{"vaults", "scan", a.id},
		{"vaults", "list"},
		{"secrets", "ls", vault},
		{"vaults", "log", vault},
	} {
		human := b.ok(args...)
		if bad := terminalUnsafe(human, true); bad != "" {
			t.Errorf("pkfs %s prints %s raw: %q", strings.Join(args, " "), bad, human)
		}
		js := b.ok(append(args, "--format", "json")...)
		if bad := terminalUnsafe(strings.TrimSuffix(js, "\n"), false); bad != "" {
			t.Errorf("pkfs %s --format json prints %s raw: %q", strings.Join(args, " "), bad, js)
		}
		if !json.Valid([]byte(js)) {
			t.Errorf("pkfs %s --format json: not JSON: %q", strings.Join(args, " "), js)
		}
	}

	// The escapes are visible in human format...
	human := b.ok("notifications", "read")
	for _, want := range []string{`hi\x1b[2J\x1b]0;pwned\x07`, `cr\rbel`, `\u009b31m`, `bidi\u202eevil\u2066`, `sep\u2028`, `del\x7f end`} {
		if !strings.Contains(human, want) {
			t.Errorf("notifications read does not show %s: %q", want, human)
		}
	}
	if ls := b.ok("secrets", "ls", vault); !strings.Contains(ls, `\x1b]0;title\x07file\r`) {
		t.Errorf("secrets ls: %q", ls)
	}
	if scan := b.ok("vaults", "scan", a.id); !strings.Contains(scan, `rep\u202egnp.exe`) {
		t.Errorf("vaults scan: %q", scan)
	}
	// ... and JSON gives back the exact text.
	var ns []struct {
		Type string `json:"type"`
		Data struct {
			Message   string `json:"message"`
			VaultName string `json:"vaultName"`
		} `json:"data"`
	}
	b.jsonOK(&ns, "notifications", "read")
	got := map[string]string{}
	for _, n := range ns {
		got[n.Type] = n.Data.Message + n.Data.VaultName
	}
	if got["general"] != msg || got["vaultShare"] != vault {
		t.Errorf("notifications in JSON: %q", got)
	}
	var ls []struct {
		Path string `json:"path"`
	}
	b.jsonOK(&ls, "secrets", "ls", vault)
	if len(ls) != 1 || ls[0].Path != file {
		t.Errorf("secrets ls in JSON: %+v", ls)
	}
}

// terminalUnsafe names the first character of s a terminal would act on
// (or that reorders text), or "" when there is none. Newlines and tabs are
// allowed in multi-line human output.
func terminalUnsafe(s string, multiline bool) string {
	if !utf8.ValidString(s) {
		return "invalid UTF-8"
	}
	for _, r := range s {
		if multiline && (r == '\n' || r == '\t') {
			continue
		}
		switch {
		case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f, r == 0x061c, r == 0x200e, r == 0x200f,
			r == 0x2028, r == 0x2029, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			return fmt.Sprintf("%U", r)
		}
	}
	return ""
}
