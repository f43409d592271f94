package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// hostile is text a peer might send to a terminal: it clears the screen,
// sets the title (OSC, ended by BEL and by ST), returns the carriage,
// rings, sends CSI as a C1 control, reverses the text, and is not UTF-8.
const hostile = "a\x1b[2Jb\x1b]0;pwned\x07c\x1b]2;t\x1b\\d\re\x07f\u009b31mg\u202eh\u2066i\u2028j\xff\xc3k\x7fl\x00m\tn\no"

func TestEscapeTerminal(t *testing.T) {
	for _, tc := range []struct {
		in        string
		multiline bool
		want      string
	}{
		{"plain text, ünïcödé, 日本, emoji 👍🏽 and a\\x1b literal", false, "plain text, ünïcödé, 日本, emoji 👍🏽 and a\\x1b literal"},
		{hostile, false, `a\x1b[2Jb\x1b]0;pwned\x07c\x1b]2;t\x1b\d\re\x07f\u009b31mg\u202eh\u2066i\u2028j\xff\xc3k\x7fl\x00m\tn\no`},
		{hostile, true, "a\\x1b[2Jb\\x1b]0;pwned\\x07c\\x1b]2;t\\x1b\\d\\re\\x07f\\u009b31mg\\u202eh\\u2066i\\u2028j\\xff\\xc3k\\x7fl\\x00m\tn\no"},
		{"line one\nline two\n", true, "line one\nline two\n"},
		{"\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u2067\u2068\u2069\u2029", false, `\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u2067\u2068\u2069\u2029`},
		{"\u0085\u00a0x", false, `\u0085` + "\u00a0x"}, // NEL is C1; NBSP is printable
	} {
		if got := string(escapeTerminal([]byte(tc.in), tc.multiline)); got != tc.want {
			t.Errorf("escapeTerminal(%q, %v)\n got %q\nwant %q", tc.in, tc.multiline, got, tc.want)
		}
	}
}

// Escaped output is valid UTF-8 without a character a terminal acts on
// (newlines and tabs only in multi-line text), and text that needs no
// escaping comes back unchanged.
func FuzzEscapeTerminal(f *testing.F) {
	for _, s := range []string{"", "plain", hostile, "\xe2\x80", "\xe2\x80\xae", "a\\u202e"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, multiline bool) {
		out := escapeTerminal([]byte(s), multiline)
		if !utf8.Valid(out) {
			t.Fatalf("%q: not UTF-8: %q", s, out)
		}
		for _, r := range string(out) {
			if unsafeRune(r) && !(multiline && (r == '\n' || r == '\t')) {
				t.Fatalf("%q: %q left in %q", s, r, out)
			}
		}
		safe := utf8.ValidString(s)
		for _, r := range s {
			if unsafeRune(r) && !(multiline && (r == '\n' || r == '\t')) {
				safe = false
			}
		}
		if safe != (string(out) == s) {
			t.Fatalf("%q escaped as %q", s, out)
		}
	})
}

// JSON output decodes to the same value and holds no raw character a
// terminal acts on; bytes that are not UTF-8 become U+FFFD, as
// encoding/json makes them.
func FuzzEscapeJSON(f *testing.F) {
	for _, s := range []string{"", "plain", hostile, "\u2028\u2029", "\"\\\u202e", "\x7f\u0085"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		raw := []byte(`{"a":[` + string(mustJSON(t, s)) + `,"x"],"b":{"c":` + string(mustJSON(t, s)) + "}}\n")
		out := escapeJSON(raw)
		var want, got any
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%q: escaped JSON %q does not decode: %v", s, out, err)
		}
		if a, b := mustJSON(t, want), mustJSON(t, got); !bytes.Equal(a, b) {
			t.Fatalf("%q: decodes to %s, want %s", s, b, a)
		}
		for _, r := range strings.TrimSuffix(string(out), "\n") {
			if unsafeRune(r) || r == utf8.RuneError {
				t.Fatalf("%q: %q left in %q", s, r, out)
			}
		}
		// invalid UTF-8 straight in the encoded text (a RawMessage)
		bad := escapeJSON([]byte("{\"m\":\"a\xffb\u202e\"}"))
		if string(bad) != `{"m":"a\ufffdb\u202e"}` {
			t.Fatalf("raw invalid UTF-8: %q", bad)
		}
	})
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The lines of a stream reach the writer escaped, an unfinished one on
// Flush, and a character split across writes is kept whole.
func TestLineEscaper(t *testing.T) {
	var out bytes.Buffer
	l := &lineEscaper{w: &out}
	rlo := "\u202e"
	for _, p := range []string{"open \x1b]0;x\x07 and", " enter ABCD\n", rlo[:1], rlo[1:] + "end"} {
		if _, err := l.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	if got := out.String(); got != "open \\x1b]0;x\\x07 and enter ABCD\n" {
		t.Fatalf("before Flush: %q", got)
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "open \\x1b]0;x\\x07 and enter ABCD\n\\u202eend" {
		t.Fatalf("after Flush: %q", got)
	}
}

// An error message, whoever wrote it, reaches stderr on one line with its
// control characters escaped.
func TestErrorMessagesAreEscaped(t *testing.T) {
	err := errors.New("Peer says \x1b]0;pwned\x07\nhello\r\u202e")
	if got := errorMessage(err); got != `peer says \x1b]0;pwned\x07 hello\r\u202e` {
		t.Fatalf("errorMessage: %q", got)
	}
	testEnv(t)
	code, _, stderr := pkfs(t, context.Background(), "secrets", "cat", "--node-path", t.TempDir(), "v\x1b[2J:x")
	if code == 0 || strings.ContainsAny(stderr, "\x1b") || !strings.Contains(stderr, `\x1b[2J`) {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}
