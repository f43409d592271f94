package agent

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The control socket protocol: one connection per call, frames of
// type(1) || length(4, big endian) || payload.
//
//	client → agent: 'Q' request (JSON Call), then 'D' input data..., 'E' end of input
//	agent → client: 'D' output data..., then 'R' result (JSON) or 'X' error (JSON)
const (
	frameRequest = 'Q'
	frameData    = 'D'
	frameEnd     = 'E'
	frameResult  = 'R'
	frameError   = 'X'

	// MaxFrame bounds one frame's payload; MaxResult one result's (a
	// result is one JSON document, such as the values of secrets env).
	MaxFrame  = 1 << 20
	MaxResult = 256 << 20
)

// ErrFrame is returned for a malformed or oversized frame.
var ErrFrame = errors.New("malformed control frame")

// frameLimit is the largest payload of a frame type.
func frameLimit(typ byte) int {
	if typ == frameResult {
		return MaxResult
	}
	return MaxFrame
}

func writeFrame(w io.Writer, typ byte, payload []byte) error {
	if len(payload) > frameLimit(typ) {
		return fmt.Errorf("%w: %d bytes", ErrFrame, len(payload))
	}
	var hdr [5]byte
	hdr[0] = typ
	binary.BigEndian.PutUint32(hdr[1:], uint32(len(payload)))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(payload)
	return err
}

// readFrame reads one frame; buf is reused when large enough.
func readFrame(r io.Reader, buf []byte) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	switch hdr[0] {
	case frameRequest, frameData, frameEnd, frameResult, frameError:
	default:
		return 0, nil, fmt.Errorf("%w: type %d", ErrFrame, hdr[0])
	}
	if int64(n) > int64(frameLimit(hdr[0])) {
		return 0, nil, fmt.Errorf("%w: %d bytes", ErrFrame, n)
	}
	if int(n) > cap(buf) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		return 0, nil, fmt.Errorf("%w: truncated", ErrFrame)
	}
	return hdr[0], buf, nil
}

// frameWriter turns writes into data frames.
type frameWriter struct {
	w   io.Writer
	err error
}

func (f *frameWriter) Write(p []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	n := 0
	for len(p) > 0 {
		c := min(len(p), 256<<10)
		if f.err = writeFrame(f.w, frameData, p[:c]); f.err != nil {
			return n, f.err
		}
		n += c
		p = p[c:]
	}
	if fl, ok := f.w.(interface{ Flush() error }); ok {
		f.err = fl.Flush() // streamed output reaches the caller as it is written
	}
	return n, f.err
}

// wireError is the JSON of an error frame.
type wireError struct {
	Kind    Kind   `json:"kind"`
	Message string `json:"message"`
}
