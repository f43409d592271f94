package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/pkfs/pkfs/internal/agent"
	"github.com/pkfs/pkfs/keyring"
	"golang.org/x/term"
)

// errNoPassword says how to give a password when there is no terminal.
var errNoPassword = agent.Errorf(agent.KindUsage,
	"no password: set PK_PASSWORD, --password-file, or run on a terminal")

// promptPassword asks for a secret on the controlling terminal, without
// echo; with confirm it asks twice and compares. A cancelled context (the
// first SIGINT) restores the terminal and returns context.Canceled.
func promptPassword(ctx context.Context, what string, confirm bool) ([]byte, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, errNoPassword
	}
	defer tty.Close()
	fd := int(tty.Fd())
	if !term.IsTerminal(fd) {
		return nil, errNoPassword
	}
	pw, err := readHidden(ctx, tty, fd, what+": ")
	if err != nil {
		return nil, err
	}
	if !confirm {
		return pw, nil
	}
	again, err := readHidden(ctx, tty, fd, what+" again: ")
	defer clear(again)
	if err != nil {
		clear(pw)
		return nil, err
	}
	if !bytes.Equal(pw, again) {
		clear(pw)
		return nil, kindErrorf(agent.KindInvalid, "the two %ss do not match", what)
	}
	return pw, nil
}

// readHidden prints prompt on the terminal and reads one line without echo.
func readHidden(ctx context.Context, tty *os.File, fd int, prompt string) ([]byte, error) {
	state, err := term.GetState(fd)
	if err != nil {
		return nil, fmt.Errorf("failed to read the terminal: %w", err)
	}
	if _, err := io.WriteString(tty, prompt); err != nil {
		return nil, fmt.Errorf("failed to write to the terminal: %w", err)
	}
	type line struct {
		b   []byte
		err error
	}
	done := make(chan line, 1)
	go func() {
		b, err := term.ReadPassword(fd)
		done <- line{b, err}
	}()
	select {
	case l := <-done:
		_, _ = io.WriteString(tty, "\n")
		if errors.Is(l.err, io.EOF) {
			return nil, keyring.ErrEmptyPassword
		}
		if l.err != nil {
			return nil, fmt.Errorf("failed to read the terminal: %w", l.err)
		}
		return l.b, nil
	case <-ctx.Done():
		_ = term.Restore(fd, state)
		_, _ = io.WriteString(tty, "\n")
		return nil, ctx.Err()
	}
}
