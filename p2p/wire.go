package p2p

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/pkfs/pkfs/vaultstore"
)

// Wire format constants.
const (
	WireVersion = 1
	MaxControl  = 64 << 10 // request, response and error payloads
	MaxData     = 1 << 20  // one data frame

	kindRequest  = 1
	kindResponse = 2
	kindError    = 3
	kindData     = 4
	kindEnd      = 5
)

// frame is one message on a stream.
type frame struct {
	kind    byte
	payload []byte
}

func writeFrame(w io.Writer, kind byte, payload []byte) error {
	limit := MaxControl
	if kind == kindData {
		limit = MaxData
	}
	if len(payload) > limit {
		return fmt.Errorf("%w: %d-byte frame", ErrTooLarge, len(payload))
	}
	hdr := [6]byte{WireVersion, kind}
	binary.BigEndian.PutUint32(hdr[2:], uint32(len(payload)))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(payload)
	return err
}

// readFrame reads one frame, refusing unknown versions and kinds and
// oversized payloads before reading them.
func readFrame(r io.Reader) (frame, error) {
	var hdr [6]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return frame{}, fmt.Errorf("%w: truncated frame header", ErrBadRequest)
		}
		return frame{}, err
	}
	return readPayload(r, hdr)
}

func readPayload(r io.Reader, hdr [6]byte) (frame, error) {
	if hdr[0] != WireVersion {
		return frame{}, fmt.Errorf("%w: wire version %d", ErrVersion, hdr[0])
	}
	kind := hdr[1]
	n := binary.BigEndian.Uint32(hdr[2:])
	limit := uint32(MaxControl)
	switch kind {
	case kindData:
		limit = MaxData
	case kindRequest, kindResponse, kindError, kindEnd:
	default:
		return frame{}, fmt.Errorf("%w: frame kind %d", ErrBadRequest, kind)
	}
	if n > limit {
		return frame{}, fmt.Errorf("%w: %d-byte frame", ErrTooLarge, n)
	}
	p, err := readGrowing(r, int(n))
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return frame{}, fmt.Errorf("%w: truncated frame", ErrBadRequest)
		}
		return frame{}, err // the stream failed: the caller tells
	}
	return frame{kind: kind, payload: p}, nil
}

// firstRead is how much of a payload is allocated before any of it has
// arrived.
const firstRead = 4 << 10

// readGrowing reads n bytes, allocating as they arrive (the buffer at most
// doubles what has arrived), not what a header announces: a peer that
// announces large frames and stalls costs a few KiB per stream.
func readGrowing(r io.Reader, n int) ([]byte, error) {
	p := make([]byte, 0, min(n, firstRead))
	for len(p) < n {
		if len(p) == cap(p) {
			p = slices.Grow(p, min(n, 2*cap(p))-len(p))
		}
		// (Grow may round the capacity up past n)
		k, err := io.ReadFull(r, p[len(p):min(cap(p), n)])
		p = p[:len(p)+k]
		if err != nil {
			return nil, err
		}
	}
	return p, nil
}

// request is the payload of a request frame.
type request struct {
	Method string          `json:"m"`
	Body   json.RawMessage `json:"b,omitempty"`
}

// decodeRequest parses a request payload strictly.
func decodeRequest(p []byte) (request, error) {
	var r request
	if err := json.Unmarshal(p, &r); err != nil {
		return r, fmt.Errorf("%w: malformed request", ErrBadRequest)
	}
	if r.Method == "" || len(r.Method) > 64 {
		return r, fmt.Errorf("%w: bad method", ErrBadRequest)
	}
	return r, nil
}

// decodeBody unmarshals a request or response body, rejecting unknown fields.
func decodeBody(b json.RawMessage, v any) error {
	if len(b) == 0 {
		b = []byte("{}")
	}
	dec := json.NewDecoder(bytesReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	return nil
}

var errShortWrite = errors.New("short write")

// Hash is an object hash on the wire: 40 hex digits, or "" for none.
type Hash vaultstore.Hash

// MarshalText implements encoding.TextMarshaler.
func (h Hash) MarshalText() ([]byte, error) {
	if vaultstore.Hash(h).IsZero() {
		return []byte{}, nil
	}
	return []byte(vaultstore.Hash(h).String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler, strictly: only 40
// lowercase hex digits (or nothing).
func (h *Hash) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*h = Hash{}
		return nil
	}
	p, err := vaultstore.ParseHash(string(b))
	if err != nil || p.String() != string(b) {
		return fmt.Errorf("%w: object hash", ErrBadRequest)
	}
	*h = Hash(p)
	return nil
}

// V returns the vaultstore hash.
func (h Hash) V() vaultstore.Hash { return vaultstore.Hash(h) }
