package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"
)

// printer writes a command's result to stdout in the chosen --format: with
// json, exactly one JSON object per command; with human, readable text.
type printer struct {
	json bool
	w    io.Writer
}

// newPrinter returns the printer for c's --format.
func newPrinter(c *cli.Context) (printer, error) {
	f, err := outputFormat(c)
	if err != nil {
		return printer{}, err
	}
	return printer{json: f == "json", w: c.App.Writer}, nil
}

// JSON reports whether the output is JSON.
func (p printer) JSON() bool { return p.json }

// Print writes v as one JSON object, or calls human with a buffered writer.
// Either way the output is escaped for a terminal (escape.go): human text
// visibly, JSON without changing the value it decodes to.
func (p printer) Print(v any, human func(w io.Writer)) error {
	var buf bytes.Buffer
	if p.json {
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return fmt.Errorf("failed to encode output: %w", err)
		}
		return p.write(escapeJSON(buf.Bytes()))
	}
	human(&buf)
	return p.write(escapeTerminal(buf.Bytes(), true))
}

func (p printer) write(b []byte) error {
	if _, err := p.w.Write(b); err != nil {
		return fmt.Errorf("failed to write output: %w", err)
	}
	return nil
}

// Raw writes bytes unchanged (for example a decrypted file).
func (p printer) Raw(b []byte) error {
	if _, err := p.w.Write(b); err != nil {
		return fmt.Errorf("failed to write output: %w", err)
	}
	return nil
}

// table writes aligned "label  value" lines; a value is one line, whatever
// it holds.
func table(w io.Writer, rows ...[2]string) {
	width := 0
	for _, r := range rows {
		width = max(width, len(r[0]))
	}
	for _, r := range rows {
		fmt.Fprintf(w, "%-*s  %s\n", width+1, r[0]+":", oneLine(r[1]))
	}
}

// notef prints "pkfs: " and a one-line message on stderr, escaped: names
// and messages in it may come from peers or vault contents.
func notef(c *cli.Context, format string, args ...any) {
	fmt.Fprintf(c.App.ErrWriter, "pkfs: %s\n", oneLine(fmt.Sprintf(format, args...)))
}
