package main

import (
	"strings"
	"unicode/utf8"

	"github.com/pkfs/pkfs/internal/agent"
)

// secretPath is a VAULT[:PATH] argument; a vault name alone means its root.
type secretPath struct {
	Vault    string
	Path     string
	hasColon bool
}

// parseSecretPath splits VAULT:PATH at the first ':' (vault names cannot
// contain one).
func parseSecretPath(s string) (secretPath, error) {
	if err := checkUTF8(s); err != nil {
		return secretPath{}, err
	}
	v, p, ok := strings.Cut(s, ":")
	if v == "" {
		return secretPath{}, kindErrorf(agent.KindInvalid, "%q: missing vault name (want VAULT[:PATH])", s)
	}
	return secretPath{Vault: v, Path: p, hasColon: ok}, nil
}

func (s secretPath) String() string {
	if s.Path == "" {
		return s.Vault
	}
	return s.Vault + ":" + s.Path
}

// needPath returns a usage error when the argument names a vault root where
// a file is needed.
func (s secretPath) needPath() error {
	if strings.Trim(s.Path, "/") == "" {
		return kindErrorf(agent.KindInvalid, "%q names a vault, not a secret (want VAULT:PATH)", s.String())
	}
	return nil
}

// checkUTF8 refuses an argument that is not valid UTF-8: calls carry names
// and paths as JSON strings, which would silently turn such bytes into
// U+FFFD, so a vault or secret would get another name than the one given.
func checkUTF8(s string) error {
	if !utf8.ValidString(s) {
		return kindErrorf(agent.KindInvalid, "%q is not valid UTF-8", s)
	}
	return nil
}
