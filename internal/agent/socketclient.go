package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// SocketClient runs calls on a running agent over its control socket.
type SocketClient struct {
	Path string
}

// DialAgent returns a client of the agent of nodePath, or nil when no agent
// answers there.
func DialAgent(nodePath string) *SocketClient {
	p, err := SocketPath(nodePath)
	if err != nil {
		return nil
	}
	c, err := net.DialTimeout("unix", p, time.Second)
	if err != nil {
		return nil
	}
	c.Close()
	return &SocketClient{Path: p}
}

// Remote implements Client.
func (s *SocketClient) Remote() bool { return true }

// Close implements Client.
func (s *SocketClient) Close() error { return nil }

// Do implements Client.
func (s *SocketClient) Do(ctx context.Context, method string, params any, in io.Reader, out io.Writer, result any) error {
	raw, err := json.Marshal(params)
	if err != nil {
		return err
	}
	req, err := json.Marshal(Call{Method: method, Params: raw})
	if err != nil {
		return err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", s.Path)
	if err != nil {
		return Errorf(KindUnavailable, "the agent does not answer: "+err.Error())
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	bw := bufio.NewWriterSize(conn, 64<<10)
	if err := writeFrame(bw, frameRequest, req); err != nil {
		return err
	}
	sendErr := make(chan error, 1)
	go func() { sendErr <- sendInput(bw, in) }()
	if out == nil {
		out = io.Discard
	}
	res, err := readReply(bufio.NewReaderSize(conn, 64<<10), out)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return err
	}
	if serr := <-sendErr; serr != nil && !errors.Is(serr, net.ErrClosed) && !isPipeErr(serr) {
		return serr
	}
	if result != nil && len(res) > 0 {
		return json.Unmarshal(res, result)
	}
	return nil
}

func sendInput(bw *bufio.Writer, in io.Reader) error {
	if in != nil {
		if _, err := io.Copy(&frameWriter{w: bw}, in); err != nil {
			return err
		}
	}
	if err := writeFrame(bw, frameEnd, nil); err != nil {
		return err
	}
	return bw.Flush()
}

func readReply(r io.Reader, out io.Writer) (json.RawMessage, error) {
	var buf []byte
	for {
		typ, payload, err := readFrame(r, buf)
		if err != nil {
			return nil, Errorf(KindUnavailable, fmt.Sprintf("the agent closed the call: %v", err))
		}
		switch typ {
		case frameData:
			if _, err := out.Write(payload); err != nil {
				return nil, err
			}
			buf = payload[:0]
		case frameResult:
			return append(json.RawMessage(nil), payload...), nil
		case frameError:
			var we wireError
			if err := json.Unmarshal(payload, &we); err != nil {
				return nil, Errorf(KindOther, "malformed error from the agent")
			}
			return nil, &Error{Kind: we.Kind, Msg: we.Message}
		default:
			return nil, ErrFrame
		}
	}
}

func isPipeErr(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne)
}
