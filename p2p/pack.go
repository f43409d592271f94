package p2p

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/pkfs/pkfs/vaultstore"
)

// packLimits bound the pack of one fetch (vaultstore.DefaultPackLimits: 2
// GiB on the wire, 4 Mi objects, 8 GiB inflated).
var packLimits = vaultstore.DefaultPackLimits()

// packSink imports a packfile written to it into a vault, in a goroutine
// started by the first write (an empty stream imports nothing). Memory
// stays bounded: the pipe holds one write at a time, and the vault's
// importer streams.
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
			_, err := p.v.ImportPack(pr, packLimits)
			pr.CloseWithError(packError(err))
			p.done <- err
		}()
	})
	p.n += int64(len(b))
	_, err := p.pw.Write(b)
	return len(b), err
}

// finish ends the stream and returns the importer's verdict when it
// refused the pack, else the call's own error.
func (p *packSink) finish(callErr error) error {
	if !p.started {
		return callErr
	}
	p.pw.CloseWithError(callErr) // nil: the importer sees the end of the pack
	err := <-p.done
	if callErr == nil || errors.Is(err, vaultstore.ErrBadPack) || errors.Is(err, vaultstore.ErrPackTooLarge) {
		return packError(err)
	}
	return callErr
}

// packError translates an import failure to the protocol's errors.
func packError(err error) error {
	switch {
	case errors.Is(err, vaultstore.ErrPackTooLarge):
		return fmt.Errorf("%w: %v", ErrTooLarge, err)
	case errors.Is(err, vaultstore.ErrBadPack):
		return fmt.Errorf("%w: bad pack: %v", ErrBadRequest, err)
	}
	return err
}
