package agent

import (
	"context"
	"encoding/json"
	"io"
	"sync"

	"github.com/pkfs/pkfs/internal/node"
	"github.com/pkfs/pkfs/p2p"
)

// Client runs calls: in-process on a node it opens itself, or on a running
// agent over its control socket.
type Client interface {
	// Do runs method with params; in and out are the call's streams (nil
	// for none); the result is decoded into result (nil to discard).
	Do(ctx context.Context, method string, params any, in io.Reader, out io.Writer, result any) error
	// Remote reports whether calls go to a running agent.
	Remote() bool
	Close() error
}

// LocalClient opens the node path on first use (asking for the password
// through Password) and serves calls in this process.
type LocalClient struct {
	NodePath string
	Password func() ([]byte, error)

	once sync.Once
	svc  *Service
	err  error
}

func (l *LocalClient) open() (*Service, error) {
	l.once.Do(func() {
		if l.err = node.CheckOpenable(l.NodePath); l.err != nil {
			return
		}
		pw, err := l.Password()
		if err != nil {
			l.err = err
			return
		}
		n, err := node.Open(l.NodePath, pw)
		clear(pw)
		if err != nil {
			l.err = err
			return
		}
		l.svc, l.err = NewService(n)
		if l.err != nil {
			n.Close()
		}
	})
	return l.svc, l.err
}

// networkMethods need the network node of a running agent: without one
// they fail at once, before the password is asked.
var networkMethods = map[string]bool{
	"nodes.ping": true, "nodes.connections": true, "nodes.find": true, "nodes.claim": true,
	"vaults.scan": true, "vaults.clone": true, "vaults.pull": true,
	"identities.discover": true, "identities.queue": true,
}

// Do implements Client.
func (l *LocalClient) Do(ctx context.Context, method string, params any, in io.Reader, out io.Writer, result any) error {
	if networkMethods[method] {
		return p2p.ErrOffline
	}
	s, err := l.open()
	if err != nil {
		return err
	}
	raw, err := json.Marshal(params)
	if err != nil {
		return err
	}
	res, err := s.Handle(ctx, &Call{Method: method, Params: raw, In: in, Out: out})
	if err != nil {
		return err
	}
	return roundTrip(res, result)
}

// roundTrip copies a handler's result into the caller's type through JSON,
// exactly as the socket transport does, so both behave the same.
func roundTrip(res, result any) error {
	if result == nil || res == nil {
		return nil
	}
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, result)
}

// Remote implements Client.
func (l *LocalClient) Remote() bool { return false }

// Close implements Client.
func (l *LocalClient) Close() error {
	if l.svc != nil {
		return l.svc.Close()
	}
	return nil
}
