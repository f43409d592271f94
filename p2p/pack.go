package p2p

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/pkfs/pkfs/vaultstore"
)

// MaxPack bounds the packfile a peer may send in one fetch.
const MaxPack = 2 << 30

// packSink decodes a packfile written to it into a vault's storer, in a
// goroutine started by the first write (an empty stream decodes nothing).
type packSink struct {
	v       *vaultstore.Vault
	once    sync.Once
	pw      *io.PipeWriter
	done    chan error
	n       int64
	started bool
}

func newPackSink(v *vaultstore.Vault) *packSink { return &packSink{v: v, done: make(chan error, 1)} }

func (p *packSink) Write(b []byte) (int, error) {
	p.once.Do(func() {
		pr, pw := io.Pipe()
		p.pw, p.started = pw, true
		go func() {
			err := p.v.ReadPack(io.LimitReader(pr, MaxPack))
			pr.CloseWithError(err)
			p.done <- err
		}()
	})
	p.n += int64(len(b))
	if p.n > MaxPack {
		return 0, fmt.Errorf("%w: pack over %d bytes", ErrTooLarge, int64(MaxPack))
	}
	return p.pw.Write(b)
}

// finish ends the stream and returns the decoder's verdict.
func (p *packSink) finish(callErr error) error {
	if !p.started {
		return callErr
	}
	p.pw.CloseWithError(callErr)
	err := <-p.done
	if callErr != nil {
		return callErr
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: bad pack: %v", ErrBadRequest, err)
	}
	return nil
}
