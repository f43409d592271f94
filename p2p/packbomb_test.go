package p2p

import (
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"errors"
	"fmt"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"
)

// packBuilder writes git packfiles by hand, as a malicious origin would:
// any object type, any declared size, deltas.
type packBuilder struct {
	buf bytes.Buffer
	n   uint32
}

func (p *packBuilder) header(typ byte, size int) {
	c := typ<<4 | byte(size&15)
	size >>= 4
	for size > 0 {
		p.buf.WriteByte(c | 0x80)
		c = byte(size & 0x7f)
		size >>= 7
	}
	p.buf.WriteByte(c)
}

func (p *packBuilder) deflate(content []byte) {
	zw := zlib.NewWriter(&p.buf)
	zw.Write(content)
	zw.Close()
}

// object adds a whole object of git type typ (1 commit, 2 tree, 3 blob).
func (p *packBuilder) object(typ byte, content []byte) {
	p.n++
	p.header(typ, len(content))
	p.deflate(content)
}

// refDelta adds a REF_DELTA object: base's content, copied, then extra.
func (p *packBuilder) refDelta(base [20]byte, baseSize int, extra []byte) {
	var d []byte
	d = appendDeltaSize(d, baseSize)
	d = appendDeltaSize(d, baseSize+len(extra))
	// copy baseSize bytes from offset 0: opcode with three size bytes
	d = append(d, 0x80|0x10|0x20|0x40, byte(baseSize), byte(baseSize>>8), byte(baseSize>>16))
	d = append(d, byte(len(extra)))
	d = append(d, extra...)
	p.n++
	p.header(7, len(d))
	p.buf.Write(base[:])
	p.deflate(d)
}

func appendDeltaSize(b []byte, n int) []byte {
	for n >= 0x80 {
		b = append(b, byte(n)|0x80)
		n >>= 7
	}
	return append(b, byte(n))
}

func (p *packBuilder) bytes() []byte {
	var out bytes.Buffer
	out.WriteString("PACK")
	out.Write([]byte{0, 0, 0, 2, byte(p.n >> 24), byte(p.n >> 16), byte(p.n >> 8), byte(p.n)})
	out.Write(p.buf.Bytes())
	sum := sha1.Sum(out.Bytes())
	out.Write(sum[:])
	return out.Bytes()
}

func gitHash(typ string, content []byte) [20]byte {
	return sha1.Sum(append([]byte(fmt.Sprintf("%s %d\x00", typ, len(content))), content...))
}

// deltaBomb is a pack of one zero blob of size MiB and n deltas, each of
// which inflates to a distinct object of the same size: a few KB on the
// wire, n MiB once resolved.
func deltaBomb(n int) []byte {
	base := make([]byte, 1<<20)
	var p packBuilder
	p.object(3, base)
	id := gitHash("blob", base)
	for i := range n {
		p.refDelta(id, len(base), []byte(fmt.Sprintf("%08d", i)))
	}
	return p.bytes()
}

// heapPeak samples the live heap until stop is called, and returns its
// peak above the level when it started.
func heapPeak() (stop func() uint64) {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	base := read()
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			peak = max(peak, read())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		peak = max(peak, read())
		if peak < base {
			return 0
		}
		return peak - base
	}
}

// TestPackBombRefused: a malicious origin answers a pull with a pack of a
// few KB that would inflate to hundreds of MiB (deltas of one large blob,
// each a distinct object). The follower's heap stays bounded, the pull
// fails with a clear error, and the replica is unchanged and sound.
func TestPackBombRefused(t *testing.T) {
	bombs := []struct {
		name string
		pack []byte
		want error
		msg  string
	}{
		{"300 deltas of 1 MiB", deltaBomb(300), ErrBadRequest, "delta"},
		{"a tree of 64 MiB", func() []byte {
			var p packBuilder
			p.object(2, make([]byte, 64<<20)) // 64 KiB on the wire
			return p.bytes()
		}(), ErrTooLarge, "tree"},
	}
	for _, bomb := range bombs {
		t.Run(bomb.name, func(t *testing.T) {
			p := newEvilPair(t)
			t.Logf("pack of %d bytes", len(bomb.pack))
			p.a.Node.Handle("vaults.fetch", evilFetch{v: p.v, raw: bomb.pack}.handler(t))
			stop := heapPeak()
			_, err := p.b.Pull(ctx(t), p.r.Name(), nil)
			grew := stop()
			t.Logf("pull: %v; heap grew by %d KiB at most", err, grew>>10)
			if grew > 48<<20 {
				t.Errorf("the follower's heap grew by %d MiB", grew>>20)
			}
			if !errors.Is(err, bomb.want) || !strings.Contains(err.Error(), bomb.msg) {
				t.Fatalf("pull: %v; want %v saying %q", err, bomb.want, bomb.msg)
			}
			if p.r.Head() != p.before || readFile(p.r, "db/password") != "one" {
				t.Fatalf("the replica moved to %s", p.r.Head())
			}
			if rep, err := p.r.Verify(); err != nil || !rep.OK() {
				t.Fatalf("replica damaged: %v %v", err, rep.Problems)
			}
			p.a.Node.Handle("vaults.fetch", p.a.handleFetch)
			if _, err := p.b.Pull(ctx(t), p.r.Name(), nil); err != nil || readFile(p.r, "db/password") != "two" {
				t.Fatalf("honest pull after the bomb: %v", err)
			}
		})
	}
}
