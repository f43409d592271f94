package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"sync"
)

// Call is one command.
type Call struct {
	Method string          `json:"method"`
	Params json.RawMessage `json:"params,omitempty"`
	// In is the command's input stream (may be empty); Out its output stream.
	In  io.Reader `json:"-"`
	Out io.Writer `json:"-"`
}

// handlerFunc serves a call on an open service.
type handlerFunc func(ctx context.Context, s *Service, c *Call) (any, error)

var (
	handlersMu sync.Mutex
	handlers   = map[string]handlerFunc{}
)

// register adds a method; files of each command family call it from init.
func register(method string, h handlerFunc) {
	handlersMu.Lock()
	defer handlersMu.Unlock()
	if _, dup := handlers[method]; dup {
		panic("agent: duplicate method " + method)
	}
	handlers[method] = h
}

// Methods lists the registered methods.
func Methods() []string {
	handlersMu.Lock()
	defer handlersMu.Unlock()
	out := make([]string, 0, len(handlers))
	for m := range handlers {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// Handle serves c on s.
func (s *Service) Handle(ctx context.Context, c *Call) (any, error) {
	handlersMu.Lock()
	h, ok := handlers[c.Method]
	handlersMu.Unlock()
	if !ok {
		return nil, Errorf(KindUsage, fmt.Sprintf("unknown method %q", c.Method))
	}
	if c.In == nil {
		c.In = eofReader{}
	}
	if c.Out == nil {
		c.Out = io.Discard
	}
	return h(ctx, s, c)
}

// decode unmarshals the call's parameters into p, strictly.
func decode(c *Call, p any) error {
	if len(c.Params) == 0 {
		return nil
	}
	if err := json.Unmarshal(c.Params, p); err != nil {
		return Errorf(KindUsage, fmt.Sprintf("invalid parameters for %s: %v", c.Method, err))
	}
	return nil
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
