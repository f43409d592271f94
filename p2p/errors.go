package p2p

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/pkfs/pkfs/gestalt"
	"github.com/pkfs/pkfs/keyring"
	"github.com/pkfs/pkfs/vaultstore"
)

// Errors of the protocol. A peer's error arrives as a *RemoteError that
// unwraps to one of these.
var (
	ErrBadRequest    = errors.New("malformed message")
	ErrUnknownMethod = errors.New("unknown method")
	ErrPermission    = errors.New("permission denied")
	ErrNotFound      = errors.New("not found")
	ErrInternal      = errors.New("internal error")
	ErrTooLarge      = errors.New("message too large")
	ErrVersion       = errors.New("unsupported protocol version")
	ErrConflict      = errors.New("history does not descend from ours")
	ErrUnavailable   = errors.New("node unreachable")
	ErrUnknownNode   = errors.New("no address known for node")
	// ErrRateLimited is returned when a peer asks too often, or a cap
	// (relay sessions, signals) is reached: it may try again later.
	ErrRateLimited = errors.New("too many requests; try again later")
	// ErrSelf is returned when a command names this node as a peer.
	ErrSelf = errors.New("that is this node, not a peer")
)

// Code is an error code on the wire.
type Code uint16

// Wire error codes. Never renumber.
const (
	CodeInternal      Code = 1
	CodeBadRequest    Code = 2
	CodeUnknownMethod Code = 3
	CodePermission    Code = 4
	CodeNotFound      Code = 5
	CodeTooLarge      Code = 6
	CodeVersion       Code = 7
	CodeConflict      Code = 8
	CodeRateLimited   Code = 9
)

var codes = []struct {
	code Code
	err  error
}{
	{CodeBadRequest, ErrBadRequest},
	{CodeUnknownMethod, ErrUnknownMethod},
	{CodePermission, ErrPermission},
	{CodeNotFound, ErrNotFound},
	{CodeTooLarge, ErrTooLarge},
	{CodeVersion, ErrVersion},
	{CodeConflict, ErrConflict},
	{CodeRateLimited, ErrRateLimited},
	{CodeInternal, ErrInternal},
}

// local errors of other layers that have a wire code of their own
var localCodes = []struct {
	err  error
	code Code
}{
	{vaultstore.ErrVaultNotFound, CodeNotFound},
	{vaultstore.ErrRevision, CodeNotFound},
	{vaultstore.ErrTooLarge, CodeTooLarge},
	{vaultstore.ErrInvalidPath, CodeBadRequest},
	{keyring.ErrInvalidNodeID, CodeBadRequest},
	{gestalt.ErrInvalidAction, CodeBadRequest},
}

// RemoteError is an error answered by a peer.
type RemoteError struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
}

func (e *RemoteError) Error() string { return "peer: " + e.Message }

// Unwrap returns the sentinel of the code.
func (e *RemoteError) Unwrap() error {
	for _, c := range codes {
		if c.code == e.Code {
			return c.err
		}
	}
	return ErrInternal
}

// codeOf maps a handler's error to its wire code. Internal errors do not
// reveal their text to the peer.
func codeOf(err error) (Code, string) {
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return c.code, err.Error()
		}
	}
	for _, c := range localCodes {
		if errors.Is(err, c.err) {
			return c.code, err.Error()
		}
	}
	return CodeInternal, "internal error"
}

func encodeError(err error) []byte {
	c, msg := codeOf(err)
	if len(msg) > 1024 {
		msg = msg[:1024]
	}
	b, _ := json.Marshal(RemoteError{Code: c, Message: msg})
	return b
}

func decodeError(p []byte) error {
	var e RemoteError
	if err := json.Unmarshal(p, &e); err != nil || e.Code == 0 {
		return fmt.Errorf("%w: malformed error", ErrBadRequest)
	}
	return &e
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
