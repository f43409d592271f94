package main

import (
	"bytes"
	"fmt"
	"io"
	"unicode/utf8"
)

// Text that peers and vault contents control (notifications, vault and
// file names of replicas, commit messages, identities, addresses, error
// messages from peers) must not act on the terminal: an escape sequence
// could clear the screen, set the title, rewrite what was printed or, with
// some terminals, answer back. Everything pkfs prints in human format and
// every message on stderr passes through escapeTerminal; JSON output
// passes through escapeJSON. Raw output is raw by design: secrets cat,
// keys decrypt and the printed forms of secrets env are the secrets' own
// bytes.

// unsafeRune reports whether r is a character a terminal acts on or that
// reorders or breaks what is shown: C0 controls, DEL, C1 controls, the
// Unicode line and paragraph separators, and the bidirectional formatting
// characters (marks, embeddings, overrides, isolates).
func unsafeRune(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r == 0x2028, r == 0x2029:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// escapeTerminal returns b with every unsafe character written as a
// visible escape: \n, \t, \r for those, \xNN for other bytes below 0x80
// and for bytes that are not UTF-8, \uNNNN for the rest. With multiline,
// newlines and tabs stay as they are (pkfs's own layout). Backslashes are
// not escaped, so a name that contains the text \x1b shows as itself.
func escapeTerminal(b []byte, multiline bool) []byte {
	if clean(b, multiline) {
		return b
	}
	var out bytes.Buffer
	out.Grow(len(b) + 16)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&out, `\x%02x`, b[0])
		case multiline && (r == '\n' || r == '\t'):
			out.WriteRune(r)
		case r == '\n':
			out.WriteString(`\n`)
		case r == '\t':
			out.WriteString(`\t`)
		case r == '\r':
			out.WriteString(`\r`)
		case unsafeRune(r) && r < 0x80:
			fmt.Fprintf(&out, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&out, `\u%04x`, r)
		default:
			out.Write(b[:n])
		}
		b = b[n:]
	}
	return out.Bytes()
}

// clean reports whether b needs no escaping.
func clean(b []byte, multiline bool) bool {
	for _, c := range b {
		if c >= 0x80 || c == 0x7f || (c < 0x20 && !(multiline && (c == '\n' || c == '\t'))) {
			return false // non-ASCII is checked rune by rune
		}
	}
	return true
}

// oneLine escapes s for a single line of human output: newlines and tabs
// too, so that text from a peer cannot fake lines or columns.
func oneLine(s string) string { return string(escapeTerminal([]byte(s), false)) }

// escapeJSON rewrites encoded JSON so that it is safe on a terminal and
// decodes to the same value. encoding/json already escapes C0 controls,
// U+2028 and U+2029 in strings; this escapes DEL, C1 controls and the
// bidirectional formatting characters as \uNNNN too, and turns bytes that
// are not UTF-8 (which can pass through a json.RawMessage) into \ufffd, as
// encoding/json does for strings. Outside strings, encoded JSON holds only
// ASCII structure and whitespace, which is left alone.
func escapeJSON(b []byte) []byte {
	var out bytes.Buffer
	out.Grow(len(b))
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && n == 1:
			out.WriteString(`\ufffd`)
		case r >= 0x20 && unsafeRune(r):
			fmt.Fprintf(&out, `\u%04x`, r)
		default:
			out.Write(b[:n])
		}
		b = b[n:]
	}
	return out.Bytes()
}

// lineEscaper passes text to w a line at a time, escaped for a terminal;
// Flush writes what is left of an unfinished line.
type lineEscaper struct {
	w   io.Writer
	buf []byte
}

func (l *lineEscaper) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	if i := bytes.LastIndexByte(l.buf, '\n'); i >= 0 {
		if _, err := l.w.Write(escapeTerminal(l.buf[:i+1], true)); err != nil {
			return 0, err
		}
		l.buf = append(l.buf[:0], l.buf[i+1:]...)
	}
	return len(p), nil
}

// Flush writes the unfinished line.
func (l *lineEscaper) Flush() error {
	if len(l.buf) == 0 {
		return nil
	}
	_, err := l.w.Write(escapeTerminal(l.buf, true))
	l.buf = l.buf[:0]
	return err
}
