package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/pkfs/pkfs/internal/agent"
	"github.com/pkfs/pkfs/internal/kvstore"
	"github.com/pkfs/pkfs/internal/node"
	"github.com/pkfs/pkfs/keyring"
)

func TestExitCodeOfEachKind(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, ExitOK},
		{errors.New("boom"), ExitOther},
		{usageErrorf("bad flag"), ExitUsage},
		{errNoPassword, ExitUsage},
		{keyring.ErrEmptyPassword, ExitInvalid},
		{fmt.Errorf("x: %w", keyring.ErrInvalidRecoveryCode), ExitInvalid},
		{keyring.ErrInvalidNodeID, ExitInvalid},
		{keyring.ErrInvalidParams, ExitInvalid},
		{node.ErrNoNode, ExitNotFound},
		{node.ErrNodeExists, ExitExists},
		{fmt.Errorf("open: %w", keyring.ErrWrongPassword), ExitWrongPassword},
		{&node.InUseError{Holder: "pid 1 (pkfs) on host h"}, ExitInUse},
		{fmt.Errorf("%w: private.key", keyring.ErrKeyFileDamaged), ExitDamaged},
		{fmt.Errorf("get: %w", kvstore.ErrDamaged), ExitDamaged},
		{fmt.Errorf("%w: version 2", node.ErrUnsupportedVersion), ExitUnsupported},
		{fmt.Errorf("open: %w", os.ErrPermission), ExitPermission},
		{agent.Errorf(agent.KindUnavailable, "no agent"), ExitUnavailable},
		{agent.Errorf(agent.KindReadOnly, "history"), ExitReadOnly},
		{kindErrorf(agent.KindTooLarge, "big"), ExitTooLarge},
		{context.Canceled, ExitInterrupted},
	} {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

// The documented table and the constants must agree, code for code.
func TestExitCodesAreDocumented(t *testing.T) {
	b, err := os.ReadFile("../../docs/exit-codes.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[int]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\| *(\d+) \|`).FindAllStringSubmatch(string(b), -1) {
		n, _ := strconv.Atoi(m[1])
		documented[n] = true
	}
	codes := []int{ExitOK, ExitOther, ExitUsage, ExitInvalid, ExitNotFound, ExitExists, ExitWrongPassword,
		ExitInUse, ExitDamaged, ExitUnsupported, ExitPermission, ExitUnavailable, ExitReadOnly, ExitTooLarge,
		ExitConflict, ExitInterrupted}
	seen := map[int]bool{}
	for _, c := range codes {
		if seen[c] {
			t.Errorf("exit code %d is used twice", c)
		}
		seen[c] = true
		if !documented[c] {
			t.Errorf("exit code %d is not in docs/exit-codes.md", c)
		}
	}
	if len(documented) != len(codes) {
		t.Errorf("docs/exit-codes.md lists %d codes, exitcodes.go defines %d", len(documented), len(codes))
	}
}

func TestErrorMessage(t *testing.T) {
	for in, want := range map[string]string{
		"Wrong password.":            "wrong password",
		"JSON is broken":             "JSON is broken",
		"two\nlines":                 "two lines",
		"node path is in use by pid": "node path is in use by pid",
		"":                           "failed",
	} {
		if got := errorMessage(errors.New(in)); got != want {
			t.Errorf("errorMessage(%q) = %q, want %q", in, got, want)
		}
	}
	if got := errorMessage(fmt.Errorf("prompt: %w", context.Canceled)); got != "interrupted" {
		t.Errorf("canceled: %q", got)
	}
}
