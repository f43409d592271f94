package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pkfs/pkfs/internal/agent"
)

// Exit codes of pkfs: a contract with scripts, documented in
// docs/exit-codes.md. Never renumber one; add new codes at the end.
const (
	ExitOK            = 0   // success
	ExitOther         = 1   // any error without a more specific code
	ExitUsage         = 2   // bad flags or arguments, unknown command or method, no password source
	ExitInvalid       = 3   // invalid input: a name, path, recovery code, node ID, parameter, empty password
	ExitNotFound      = 4   // no such node, vault, secret or key
	ExitExists        = 5   // it already exists (init on an existing node without --fresh)
	ExitWrongPassword = 6   // the password does not unlock the node
	ExitInUse         = 7   // another process has the node path open
	ExitDamaged       = 8   // data fails its integrity or authentication check
	ExitUnsupported   = 9   // the node path has a format version this pkfs cannot read
	ExitPermission    = 10  // permission denied
	ExitUnavailable   = 11  // the agent or a peer cannot be reached
	ExitReadOnly      = 12  // the target is read-only
	ExitTooLarge      = 13  // the input is larger than allowed
	ExitConflict      = 14  // histories diverged (a pull that does not fast-forward)
	ExitInterrupted   = 130 // interrupted by a signal (SIGINT, SIGTERM, SIGHUP)
)

// exitCode maps an error to the exit code of its kind. This switch is the
// only place where that mapping is made.
func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	switch agent.KindOf(err) {
	case agent.KindUsage:
		return ExitUsage
	case agent.KindInvalid:
		return ExitInvalid
	case agent.KindNotFound:
		return ExitNotFound
	case agent.KindExists:
		return ExitExists
	case agent.KindWrongPassword:
		return ExitWrongPassword
	case agent.KindInUse:
		return ExitInUse
	case agent.KindDamaged:
		return ExitDamaged
	case agent.KindUnsupported:
		return ExitUnsupported
	case agent.KindPermission:
		return ExitPermission
	case agent.KindUnavailable:
		return ExitUnavailable
	case agent.KindReadOnly:
		return ExitReadOnly
	case agent.KindTooLarge:
		return ExitTooLarge
	case agent.KindCanceled:
		return ExitInterrupted
	case agent.KindConflict:
		return ExitConflict
	default:
		return ExitOther
	}
}

// usageErrorf returns an error of kind usage (exit code 2).
func usageErrorf(format string, args ...any) error {
	return agent.Errorf(agent.KindUsage, fmt.Sprintf(format, args...))
}

// kindErrorf returns an error of kind k.
func kindErrorf(k agent.Kind, format string, args ...any) error {
	return agent.Errorf(k, fmt.Sprintf(format, args...))
}

// errorMessage returns err's message as pkfs prints it: one line, lower
// case first letter where the word is not an acronym, no trailing period,
// escaped for a terminal (a peer's error message passes through here).
func errorMessage(err error) string {
	if errors.Is(err, context.Canceled) {
		return "interrupted"
	}
	msg := strings.TrimSpace(strings.ReplaceAll(err.Error(), "\n", " "))
	msg = strings.TrimRight(msg, ".")
	if len(msg) > 1 && msg[0] >= 'A' && msg[0] <= 'Z' && !(msg[1] >= 'A' && msg[1] <= 'Z') {
		msg = strings.ToLower(msg[:1]) + msg[1:]
	}
	if msg == "" {
		return "failed"
	}
	return oneLine(msg)
}

// silentError carries an exit code for an outcome the command has already
// reported on stdout (agent status of a dead agent): nothing more is printed.
type silentError struct{ error }

func (e *silentError) Unwrap() error { return e.error }
