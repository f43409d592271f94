package main

import (
	"github.com/pkfs/pkfs/internal/agent"
	"strings"
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
