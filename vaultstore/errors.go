package vaultstore

import "errors"

// Errors of vaultstore. Callers test them with errors.Is; messages name the
// vault or path where that helps, and never a secret's content.
var (
	ErrInvalidName    = errors.New("invalid vault name")
	ErrInvalidVaultID = errors.New("invalid vault ID")
	ErrInvalidPath    = errors.New("invalid path")
	ErrVaultNotFound  = errors.New("vault not found")
	ErrVaultExists    = errors.New("vault name already taken")
	ErrNotFound       = errors.New("no such file or directory")
	ErrExists         = errors.New("file exists")
	ErrNotDir         = errors.New("not a directory")
	ErrIsDir          = errors.New("is a directory")
	ErrNotEmpty       = errors.New("directory not empty")
	ErrRevision       = errors.New("unknown revision")
	ErrAmbiguous      = errors.New("ambiguous revision")
	ErrTooLarge       = errors.New("file too large")
	ErrReadOnly       = errors.New("vault is a read-only replica")
	ErrCorrupt        = errors.New("vault object damaged")
	ErrClosed         = errors.New("vault store closed")
	ErrInvalidRename  = errors.New("invalid rename")
	ErrInvalidHash    = errors.New("invalid object hash")
)

// Errors of packs from peers (see ImportPack).
var (
	// ErrBadPack is a packfile that is malformed, holds an object a vault
	// cannot hold, or something our encoder never sends (deltas, tags).
	ErrBadPack = errors.New("malformed pack")
	// ErrPackTooLarge is a packfile over its PackLimits.
	ErrPackTooLarge = errors.New("pack over its limits")
)
