package p2p

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"crypto/tls"

	"github.com/pkfs/pkfs/keyring"
	"github.com/quic-go/quic-go"
)

type tlsCert struct{ c tls.Certificate }

// Peer is the authenticated caller of a handler.
type Peer struct {
	ID   keyring.NodeID
	Addr net.Addr // over a relay, the relay's
	Via  Via      // how its connection came up
}

// Handler serves one method. body is the request body (validate it!); data
// written to out travels as data frames before the response.
type Handler func(ctx context.Context, from Peer, body json.RawMessage, out io.Writer) (any, error)

// Handle registers a method.
func (n *Node) Handle(method string, h Handler) {
	n.handlersMu.Lock()
	n.handlers[method] = h
	n.handlersMu.Unlock()
}

// serveConn accepts the streams of one connection until it closes.
func (n *Node) serveConn(pc *peerConn) {
	for {
		s, err := pc.conn.AcceptStream(n.ctx)
		if err != nil {
			return
		}
		go n.serveStream(pc, s)
	}
}

// HandlerTimeout bounds a handler and the writing of its answer (a pack).
const HandlerTimeout = 10 * time.Minute

// streamRefused is the QUIC error code of a request stream whose remaining
// input the server does not read.
const streamRefused quic.StreamErrorCode = 1

// requestTimeout bounds the reading of a request: a stream that stalls
// before its request is whole is cancelled then (CallTimeout; tests lower
// it).
var requestTimeout atomic.Int64

func init() { requestTimeout.Store(int64(CallTimeout)) }

// serveStream reads one request, runs its handler, and answers.
func (n *Node) serveStream(pc *peerConn, s *quic.Stream) {
	n.activeStreams.Add(1)
	defer n.activeStreams.Add(-1)
	defer s.Close()
	s.SetReadDeadline(time.Now().Add(time.Duration(requestTimeout.Load())))
	var bw *bufio.Writer // made once a request has come: a stalled stream costs none
	fail := func(err error) {
		// Whatever the peer still sends on this stream is not read: stop
		// it, so that the stream is released (a peer that is refused must
		// not use up its connection's streams).
		s.CancelRead(streamRefused)
		if bw == nil {
			_ = writeFrame(s, kindError, encodeError(err))
			return
		}
		_ = writeFrame(bw, kindError, encodeError(err))
		_ = bw.Flush()
	}
	f, err := readFrame(s)
	if err != nil {
		if !errors.Is(err, io.EOF) {
			fail(err)
		}
		return
	}
	if f.kind != kindRequest {
		fail(fmt.Errorf("%w: expected a request", ErrBadRequest))
		return
	}
	req, err := decodeRequest(f.payload)
	if err != nil {
		fail(err)
		return
	}
	n.handlersMu.RLock()
	h, ok := n.handlers[req.Method]
	n.handlersMu.RUnlock()
	if !ok {
		fail(fmt.Errorf("%w %q", ErrUnknownMethod, req.Method))
		return
	}
	bw = bufio.NewWriterSize(s, 64<<10)
	ctx, cancel := context.WithTimeout(n.ctx, HandlerTimeout)
	defer cancel()
	// a caller that stops reading the answer must not hold the handler
	s.SetWriteDeadline(time.Now().Add(HandlerTimeout))
	dw := &dataWriter{w: bw}
	res, err := h(ctx, Peer{ID: pc.id, Addr: pc.conn.RemoteAddr(), Via: pc.via}, req.Body, dw)
	if err == nil {
		err = dw.err
	}
	var se *quic.StreamError
	if err != nil && errors.As(err, &se) && se.Remote {
		// the caller refused what we sent (a pack it could not take)
		logf("%s: %s refused our answer with code %d (%v)", req.Method, pc.id, se.ErrorCode,
			(&RemoteError{Code: Code(se.ErrorCode)}).Unwrap())
		return
	}
	if err != nil {
		code, _ := codeOf(err)
		if code == CodeInternal {
			logf("%s from %s: %v", req.Method, pc.id, err)
		}
		fail(err)
		return
	}
	b, err := json.Marshal(res)
	if err != nil || len(b) > MaxControl {
		fail(fmt.Errorf("%w: response", ErrInternal))
		return
	}
	_ = writeFrame(bw, kindResponse, b)
	_ = bw.Flush()
}

// dataWriter sends writes as data frames.
type dataWriter struct {
	w   io.Writer
	err error
}

func (d *dataWriter) Write(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	n := 0
	for len(p) > 0 {
		c := min(len(p), MaxData)
		if d.err = writeFrame(d.w, kindData, p[:c]); d.err != nil {
			return n, d.err
		}
		n += c
		p = p[c:]
	}
	return n, nil
}

// Call runs method on peer id with body req and decodes the response into
// resp (nil to discard). Data frames are written to data (nil: refused).
// Without a deadline in ctx, CallTimeout applies.
func (n *Node) Call(ctx context.Context, id keyring.NodeID, method string, req, resp any, data io.Writer) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, CallTimeout)
		defer cancel()
	}
	pc, err := n.conn(ctx, id)
	if err != nil {
		return err
	}
	err = n.callOn(ctx, pc, method, req, resp, data)
	if err != nil && pc.conn.Context().Err() != nil && ctx.Err() == nil {
		// the connection died under us: redial once
		if pc, err2 := n.conn(ctx, id); err2 == nil {
			return n.callOn(ctx, pc, method, req, resp, data)
		}
	}
	return err
}

func (n *Node) callOn(ctx context.Context, pc *peerConn, method string, req, resp any, data io.Writer) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	payload, _ := json.Marshal(request{Method: method, Body: body})
	s, err := pc.conn.OpenStreamSync(ctx)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrUnavailable, pc.id, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		s.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { s.CancelRead(0); s.CancelWrite(0) })
	defer stop()
	if err := writeFrame(s, kindRequest, payload); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrUnavailable, pc.id, err)
	}
	s.Close() // our side is done; the answer comes back on the read side
	br := bufio.NewReaderSize(s, 64<<10)
	for {
		f, err := readFrame(br)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("%w: %s: %v", ErrUnavailable, pc.id, ctx.Err())
			}
			if errors.Is(err, io.EOF) || isStreamErr(err) {
				return fmt.Errorf("%w: %s: the call was cut", ErrUnavailable, pc.id)
			}
			return err
		}
		switch f.kind {
		case kindData:
			if data == nil {
				return fmt.Errorf("%w: unexpected data", ErrBadRequest)
			}
			if _, err := data.Write(f.payload); err != nil {
				// refused (a bad pack): tell the sender why, and stop it
				code, _ := codeOf(err)
				s.CancelRead(quic.StreamErrorCode(code))
				return err
			}
		case kindResponse:
			if resp == nil {
				return nil
			}
			if err := json.Unmarshal(f.payload, resp); err != nil {
				return fmt.Errorf("%w: malformed response", ErrBadRequest)
			}
			return nil
		case kindError:
			return decodeError(f.payload)
		default:
			return fmt.Errorf("%w: unexpected frame", ErrBadRequest)
		}
	}
}

func isStreamErr(err error) bool {
	var se *quic.StreamError
	var ae *quic.ApplicationError
	var ie *quic.IdleTimeoutError
	return errors.As(err, &se) || errors.As(err, &ae) || errors.As(err, &ie)
}

func isPeerIDError(err error) bool { return strings.Contains(err.Error(), ErrPeerID.Error()) }
