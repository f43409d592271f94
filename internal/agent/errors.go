package agent

import (
	"context"
	"errors"
	"os"

	"github.com/pkfs/pkfs/gestalt"
	"github.com/pkfs/pkfs/internal/cryptocore"
	"github.com/pkfs/pkfs/internal/kvstore"
	"github.com/pkfs/pkfs/internal/node"
	"github.com/pkfs/pkfs/keyring"
	"github.com/pkfs/pkfs/p2p"
	"github.com/pkfs/pkfs/vaultstore"
)

// Kind classifies an error for the CLI's exit code and for the wire.
type Kind string

// The error kinds. Their exit codes are documented in docs/exit-codes.md.
const (
	KindOther         Kind = "other"
	KindUsage         Kind = "usage"
	KindInvalid       Kind = "invalid"
	KindNotFound      Kind = "not-found"
	KindExists        Kind = "exists"
	KindWrongPassword Kind = "wrong-password"
	KindInUse         Kind = "in-use"
	KindDamaged       Kind = "damaged"
	KindUnsupported   Kind = "unsupported"
	KindPermission    Kind = "permission"
	KindUnavailable   Kind = "unavailable"
	KindReadOnly      Kind = "read-only"
	KindTooLarge      Kind = "too-large"
	KindCanceled      Kind = "canceled"
	KindConflict      Kind = "conflict"
)

// Error is an error with a kind, as it arrives from a remote agent or as a
// handler marks its own errors.
type Error struct {
	Kind Kind
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Errorf returns an *Error of kind k.
func Errorf(k Kind, msg string) error { return &Error{Kind: k, Msg: msg} }

// classifiers map sentinel errors of the layers to kinds. Layers added later
// append to it from their own files.
var classifiers = []struct {
	err  error
	kind Kind
}{
	{keyring.ErrWrongPassword, KindWrongPassword},
	{keyring.ErrEmptyPassword, KindInvalid},
	{keyring.ErrInvalidRecoveryCode, KindInvalid},
	{keyring.ErrInvalidParams, KindInvalid},
	{keyring.ErrInvalidNodeID, KindInvalid},
	{keyring.ErrInvalidMessage, KindInvalid},
	{keyring.ErrRecoveryOther, KindInvalid},
	{keyring.ErrKeyFileDamaged, KindDamaged},
	{keyring.ErrNoKeys, KindNotFound},
	{node.ErrNoNode, KindNotFound},
	{node.ErrNodeExists, KindExists},
	{node.ErrIncomplete, KindDamaged},
	{node.ErrUnsupportedVersion, KindUnsupported},
	{node.ErrInUse, KindInUse},
	{ErrMountPoint, KindInvalid},
	{ErrMounted, KindInUse},
	{kvstore.ErrDamaged, KindDamaged},
	{kvstore.ErrNotFound, KindNotFound},
	{cryptocore.ErrAuth, KindDamaged},
	{context.Canceled, KindCanceled},
	{os.ErrPermission, KindPermission},
}

// KindOf classifies err.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	for _, c := range classifiers {
		if errors.Is(err, c.err) {
			return c.kind
		}
	}
	return KindOther
}

func init() {
	classifiers = append(classifiers, []struct {
		err  error
		kind Kind
	}{
		{vaultstore.ErrInvalidName, KindInvalid},
		{vaultstore.ErrInvalidVaultID, KindInvalid},
		{vaultstore.ErrInvalidPath, KindInvalid},
		{vaultstore.ErrInvalidRename, KindInvalid},
		{vaultstore.ErrVaultNotFound, KindNotFound},
		{vaultstore.ErrNotFound, KindNotFound},
		{vaultstore.ErrRevision, KindNotFound},
		{vaultstore.ErrAmbiguous, KindInvalid},
		{vaultstore.ErrVaultExists, KindExists},
		{vaultstore.ErrExists, KindExists},
		{vaultstore.ErrNotDir, KindInvalid},
		{vaultstore.ErrIsDir, KindInvalid},
		{vaultstore.ErrNotEmpty, KindInvalid},
		{vaultstore.ErrTooLarge, KindTooLarge},
		{vaultstore.ErrReadOnly, KindReadOnly},
		{vaultstore.ErrCorrupt, KindDamaged},
		{vaultstore.ErrNotDescendant, KindConflict},
		{vaultstore.ErrIncomplete, KindInvalid},
		{p2p.ErrPeerID, KindPermission},
		{p2p.ErrSelf, KindInvalid},
		{p2p.ErrPermission, KindPermission},
		{p2p.ErrNotFound, KindNotFound},
		{p2p.ErrUnknownNode, KindNotFound},
		{p2p.ErrUnavailable, KindUnavailable},
		{p2p.ErrRateLimited, KindUnavailable},
		{p2p.ErrOffline, KindUnavailable},
		{p2p.ErrBadRequest, KindInvalid},
		{p2p.ErrUnknownMethod, KindInvalid},
		{p2p.ErrVersion, KindUnsupported},
		{p2p.ErrTooLarge, KindTooLarge},
		{p2p.ErrConflict, KindConflict},
		{p2p.ErrInternal, KindOther},
		{p2p.ErrInvalidAddress, KindInvalid},
		{gestalt.ErrInvalidAction, KindInvalid},
		{context.DeadlineExceeded, KindUnavailable},
	}...)
}
