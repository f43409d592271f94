package vaultstore

import (
	"crypto/sha1"
	"fmt"
	"hash"
	"io"
)

// packStream reads a packfile from a peer: buffered, so that the zlib
// reader (which asks for one byte at a time through io.ByteReader) reads
// exactly its stream and nothing of the next object; counting, so that a
// pack cannot grow past its limit; and hashing every byte consumed, for
// the pack's trailing checksum. The hash is fed in bulk, when the buffer
// is refilled, not byte by byte.
type packStream struct {
	r      io.Reader
	buf    []byte
	pos    int // next byte to consume
	end    int // end of the valid bytes
	hashed int // bytes of buf[:pos] already fed to sum
	sum    hash.Hash
	n      int64 // bytes consumed
	max    int64
}

func newPackStream(r io.Reader, max int64) *packStream {
	return &packStream{r: r, buf: make([]byte, 64<<10), sum: sha1.New(), max: max}
}

// fill reads more input once the buffer is consumed. A reader that
// returns nothing and no error is retried a few times, as io.ReadFull
// would, then treated as a stall.
func (p *packStream) fill() error {
	p.sum.Write(p.buf[p.hashed:p.pos])
	p.pos, p.end, p.hashed = 0, 0, 0
	for range 100 {
		n, err := p.r.Read(p.buf)
		if n > 0 {
			p.end = n
			return nil
		}
		if err != nil {
			return err
		}
	}
	return io.ErrNoProgress
}

// consumed counts k more bytes taken, refusing a pack past its limit.
func (p *packStream) consumed(k int) error {
	p.n += int64(k)
	if p.n > p.max {
		return fmt.Errorf("%w: the pack is over %d bytes", ErrPackTooLarge, p.max)
	}
	return nil
}

// ReadByte implements io.ByteReader.
func (p *packStream) ReadByte() (byte, error) {
	if p.pos == p.end {
		if err := p.fill(); err != nil {
			return 0, err
		}
	}
	c := p.buf[p.pos]
	p.pos++
	return c, p.consumed(1)
}

// Read implements io.Reader.
func (p *packStream) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if p.pos == p.end {
		if err := p.fill(); err != nil {
			return 0, err
		}
	}
	k := copy(b, p.buf[p.pos:p.end])
	p.pos += k
	return k, p.consumed(k)
}

// digest returns the SHA-1 of every byte consumed so far.
func (p *packStream) digest() [sha1.Size]byte {
	p.sum.Write(p.buf[p.hashed:p.pos])
	p.hashed = p.pos
	var d [sha1.Size]byte
	p.sum.Sum(d[:0])
	return d
}

// atEOF reports whether the input has ended (nothing follows).
func (p *packStream) atEOF() (bool, error) {
	if p.pos < p.end {
		return false, nil
	}
	err := p.fill()
	if err == io.EOF {
		return true, nil
	}
	return false, err
}

// objectHeader reads the type and inflated size of a pack entry: the type
// in bits 4–6 of the first byte, the size in its low four bits and seven
// more bits of each following byte while the top bit is set.
func (p *packStream) objectHeader() (typ byte, size int64, err error) {
	c, err := p.ReadByte()
	if err != nil {
		return 0, 0, err
	}
	typ = (c >> 4) & 7
	size = int64(c & 15)
	for shift := 4; c&0x80 != 0; shift += 7 {
		if shift > 53 {
			return 0, 0, fmt.Errorf("%w: object size does not fit", ErrBadPack)
		}
		if c, err = p.ReadByte(); err != nil {
			return 0, 0, err
		}
		size |= int64(c&0x7f) << shift
	}
	return typ, size, nil
}

// appendObjectHeader is the inverse of objectHeader.
func appendObjectHeader(b []byte, typ byte, size int64) []byte {
	c := typ<<4 | byte(size&15)
	size >>= 4
	for size > 0 {
		b = append(b, c|0x80)
		c = byte(size & 0x7f)
		size >>= 7
	}
	return append(b, c)
}
