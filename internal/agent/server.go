package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// server serves calls on the control socket.
type server struct {
	svc  *Service
	ln   *net.UnixListener
	path string
	wg   sync.WaitGroup
	// agentOnly are methods served only by a running agent.
	agentOnly map[string]handlerFunc
}

// listen creates the control socket (0600). A socket file left by a dead
// agent is replaced: the caller holds the node path's lock, so no live agent
// can own it.
func listen(path string) (*net.UnixListener, error) {
	_ = os.Remove(path)
	old := unix.Umask(0o177)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	unix.Umask(old)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	ln.SetUnlinkOnClose(true)
	return ln, nil
}

func (s *server) serve(ctx context.Context) {
	for {
		c, err := s.ln.AcceptUnix()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			s.handleConn(ctx, c)
		}()
	}
}

// peerAllowed checks the caller's uid with SO_PEERCRED: only our own user.
func peerAllowed(c *net.UnixConn) bool {
	raw, err := c.SyscallConn()
	if err != nil {
		return false
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil || cerr != nil {
		return false
	}
	return int(cred.Uid) == os.Getuid()
}

func (s *server) handleConn(ctx context.Context, c *net.UnixConn) {
	bw := bufio.NewWriterSize(c, 64<<10)
	reply := func(res any, err error) {
		if err != nil {
			b, _ := json.Marshal(wireError{Kind: KindOf(err), Message: err.Error()})
			_ = writeFrame(bw, frameError, b)
		} else {
			b, merr := json.Marshal(res)
			switch {
			case merr != nil:
				b, _ = json.Marshal(wireError{Kind: KindOther, Message: "failed to encode result"})
				_ = writeFrame(bw, frameError, b)
			case len(b) > MaxResult:
				b, _ = json.Marshal(wireError{Kind: KindTooLarge, Message: fmt.Sprintf("the result is over %d bytes", MaxResult)})
				_ = writeFrame(bw, frameError, b)
			default:
				_ = writeFrame(bw, frameResult, b)
			}
		}
		_ = bw.Flush()
	}
	if !peerAllowed(c) {
		reply(nil, Errorf(KindPermission, "permission denied: the agent serves only its own user"))
		return
	}
	br := bufio.NewReaderSize(c, 64<<10)
	typ, payload, err := readFrame(br, nil)
	if err != nil || typ != frameRequest {
		reply(nil, Errorf(KindUsage, "malformed request"))
		return
	}
	var call Call
	if err := json.Unmarshal(payload, &call); err != nil {
		reply(nil, Errorf(KindUsage, "malformed request"))
		return
	}
	in := &frameReader{r: br}
	out := &frameWriter{w: bw}
	call.In, call.Out = in, out
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var res any
	if h, ok := s.agentOnly[call.Method]; ok {
		res, err = h(cctx, s.svc, &call)
	} else {
		res, err = s.svc.Handle(cctx, &call)
	}
	if err == nil && out.err != nil {
		err = out.err
	}
	if errors.Is(out.err, net.ErrClosed) {
		return
	}
	reply(res, err)
	if err != nil && !errors.Is(err, context.Canceled) {
		log.Printf("pkfs agent: %s: %s", call.Method, KindOf(err))
	}
}

// frameReader turns data frames into a stream that ends at the end frame.
type frameReader struct {
	r    io.Reader
	buf  []byte
	rest []byte
	done bool
}

func (f *frameReader) Read(p []byte) (int, error) {
	for len(f.rest) == 0 {
		if f.done {
			return 0, io.EOF
		}
		typ, payload, err := readFrame(f.r, f.buf)
		if err != nil {
			return 0, err
		}
		f.buf = payload[:0]
		switch typ {
		case frameData:
			f.rest = payload
		case frameEnd:
			f.done = true
		default:
			return 0, ErrFrame
		}
	}
	n := copy(p, f.rest)
	f.rest = f.rest[n:]
	return n, nil
}
