package vaultstore

import (
	"bytes"
	"fmt"
	"hash"
	"io"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
)

// Blob reads the content of a stored object at any offset. Reads of a
// chunked object fetch and authenticate one chunk at a time and keep the
// last one, so sequential reads decrypt each chunk once. It is safe for
// concurrent use.
type Blob struct {
	o *objStore
	h plumbing.Hash
	m *objMeta

	mu   sync.Mutex
	ci   uint32
	cbuf []byte
}

func (o *objStore) openBlob(h plumbing.Hash) (*Blob, error) {
	m, err := o.getMeta(h)
	if err != nil {
		return nil, err
	}
	return &Blob{o: o, h: h, m: m}, nil
}

// Size returns the size of the content.
func (b *Blob) Size() int64 { return b.m.size }

// Hash returns the git hash of the object.
func (b *Blob) Hash() Hash { return Hash(b.h) }

// ReadAt implements io.ReaderAt.
func (b *Blob) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("negative offset")
	}
	if off >= b.m.size {
		return 0, io.EOF
	}
	if !b.m.chunked() {
		n := copy(p, b.m.inline[off:])
		if n < len(p) {
			return n, io.EOF
		}
		return n, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	total := 0
	for total < len(p) && off < b.m.size {
		i := uint32(off / ChunkSize)
		if b.cbuf == nil || b.ci != i {
			c, err := b.o.chunk(b.h, b.m, i)
			if err != nil {
				return total, err
			}
			b.ci, b.cbuf = i, c
		}
		n := copy(p[total:], b.cbuf[off-int64(i)*ChunkSize:])
		total += n
		off += int64(n)
	}
	if total < len(p) {
		return total, io.EOF
	}
	return total, nil
}

// Reader returns a sequential reader of the whole content that rechecks the
// git hash at the end: a damaged object gives an error, never wrong bytes
// silently accepted at EOF.
func (b *Blob) Reader() io.Reader {
	if !b.m.chunked() {
		return bytes.NewReader(b.m.inline)
	}
	return &checkedReader{b: b, hs: gitHasher(b.m.typ, b.m.size)}
}

type checkedReader struct {
	b   *Blob
	off int64
	hs  hash.Hash
}

func (r *checkedReader) Read(p []byte) (int, error) {
	if r.off >= r.b.m.size {
		if plumbing.Hash(r.hs.Sum(nil)) != r.b.h {
			return 0, fmt.Errorf("%w: object %s: hash mismatch", ErrCorrupt, r.b.h)
		}
		return 0, io.EOF
	}
	n, err := r.b.ReadAt(p, r.off)
	r.hs.Write(p[:n])
	r.off += int64(n)
	if err == io.EOF {
		err = nil
	}
	return n, err
}
