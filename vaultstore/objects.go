package vaultstore

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/pkfs/pkfs/internal/cryptocore"
	"github.com/pkfs/pkfs/internal/kvstore"
)

// Sizes of stored objects.
const (
	// InlineLimit is the largest object stored inside its meta entry.
	InlineLimit = 4096
	// ChunkSize is the size of the pieces of larger objects.
	ChunkSize = 1 << 20
	// MaxFileSize is the largest file a vault accepts.
	MaxFileSize = 1 << 30
	prefixSize  = 16
)

// maxFileSize is MaxFileSize, lowered by tests of the limit so that they
// need not stream a GiB.
var maxFileSize int64 = MaxFileSize

// objMeta is the decoded meta entry of an object.
type objMeta struct {
	typ     plumbing.ObjectType
	size    int64
	inline  []byte // the content, when size <= InlineLimit
	prefix  []byte // key prefix of the chunks otherwise
	nchunks uint32
}

func (m *objMeta) chunked() bool { return m.prefix != nil }

func encodeMeta(m *objMeta) []byte {
	b := make([]byte, 0, 16+len(m.inline)+len(m.prefix))
	b = append(b, byte(m.typ))
	b = binary.AppendUvarint(b, uint64(m.size))
	if m.chunked() {
		b = append(b, 1)
		b = append(b, m.prefix...)
		return binary.AppendUvarint(b, uint64(m.nchunks))
	}
	b = append(b, 0)
	return append(b, m.inline...)
}

// decodeMeta parses a meta entry; it never trusts sizes it has not checked.
func decodeMeta(b []byte) (*objMeta, error) {
	bad := func(why string) (*objMeta, error) { return nil, fmt.Errorf("%w: meta entry: %s", ErrCorrupt, why) }
	if len(b) < 3 {
		return bad("short")
	}
	m := &objMeta{typ: plumbing.ObjectType(b[0])}
	switch m.typ {
	case plumbing.CommitObject, plumbing.TreeObject, plumbing.BlobObject, plumbing.TagObject:
	default:
		return bad("object type")
	}
	size, n := uvarint(b[1:])
	if n <= 0 || size > MaxFileSize {
		return bad("size")
	}
	m.size = int64(size)
	rest := b[1+n:]
	if len(rest) < 1 {
		return bad("short")
	}
	switch rest[0] {
	case 0:
		if int64(len(rest)-1) != m.size || m.size > InlineLimit {
			return bad("inline length")
		}
		m.inline = rest[1:]
	case 1:
		if len(rest) < 1+prefixSize+1 {
			return bad("short")
		}
		m.prefix = rest[1 : 1+prefixSize]
		nc, n := uvarint(rest[1+prefixSize:])
		if n <= 0 || n != len(rest)-1-prefixSize || nc != uint64((m.size+ChunkSize-1)/ChunkSize) || m.size <= InlineLimit {
			return bad("chunk count")
		}
		m.nchunks = uint32(nc)
	default:
		return bad("storage kind")
	}
	return m, nil
}

// uvarint is binary.Uvarint in its shortest encoding only (as
// binary.AppendUvarint writes it): an entry has one encoding.
func uvarint(b []byte) (uint64, int) {
	v, n := binary.Uvarint(b)
	if n > 0 && n != len(binary.AppendUvarint(nil, v)) {
		return 0, 0
	}
	return v, n
}

// objStore keeps the objects of one vault.
type objStore struct {
	db     *kvstore.DB
	meta   *kvstore.Bucket
	chunks *kvstore.Bucket
	cache  *lru[plumbing.Hash, *objMeta]
}

func newObjStore(db *kvstore.DB, meta, chunks *kvstore.Bucket) *objStore {
	return &objStore{db: db, meta: meta, chunks: chunks, cache: newLRU[plumbing.Hash, *objMeta](8192)}
}

func chunkKey(prefix []byte, i uint32) []byte {
	return binary.BigEndian.AppendUint32(append(make([]byte, 0, prefixSize+4), prefix...), i)
}

// getMeta returns the meta of h, plumbing.ErrObjectNotFound, or ErrCorrupt.
func (o *objStore) getMeta(h plumbing.Hash) (*objMeta, error) {
	if m, ok := o.cache.get(h); ok {
		return m, nil
	}
	b, err := o.meta.Get(h[:])
	if errors.Is(err, kvstore.ErrNotFound) {
		return nil, plumbing.ErrObjectNotFound
	}
	if errors.Is(err, kvstore.ErrClosed) {
		return nil, ErrClosed // shutting down: not damage
	}
	if err != nil && !errors.Is(err, kvstore.ErrDamaged) {
		return nil, fmt.Errorf("object %s: %w", h, err) // an I/O error: not damage either
	}
	if err != nil {
		return nil, fmt.Errorf("%w: object %s: %v", ErrCorrupt, h, err)
	}
	m, err := decodeMeta(b)
	if err != nil {
		return nil, fmt.Errorf("object %s: %w", h, err)
	}
	if !m.chunked() && computeHash(m.typ, m.inline) != h {
		return nil, fmt.Errorf("%w: object %s: hash mismatch", ErrCorrupt, h)
	}
	o.cache.put(h, m)
	return m, nil
}

func (o *objStore) has(h plumbing.Hash) (bool, error) {
	if _, ok := o.cache.get(h); ok {
		return true, nil
	}
	return o.meta.Has(h[:])
}

// readAll returns the whole content of an object (trees, commits, small
// files); large blobs should be read with openBlob.
func (o *objStore) readAll(h plumbing.Hash) (*objMeta, []byte, error) {
	m, err := o.getMeta(h)
	if err != nil {
		return nil, nil, err
	}
	if !m.chunked() {
		return m, m.inline, nil
	}
	var buf bytes.Buffer
	buf.Grow(int(m.size))
	if err := o.streamChunks(h, m, &buf); err != nil {
		return nil, nil, err
	}
	return m, buf.Bytes(), nil
}

// streamChunks copies a chunked object to w and rechecks its git hash.
func (o *objStore) streamChunks(h plumbing.Hash, m *objMeta, w io.Writer) error {
	hs := gitHasher(m.typ, m.size)
	for i := uint32(0); i < m.nchunks; i++ {
		c, err := o.chunk(h, m, i)
		if err != nil {
			return err
		}
		hs.Write(c)
		if _, err := w.Write(c); err != nil {
			return err
		}
	}
	if plumbing.Hash(hs.Sum(nil)) != h {
		return fmt.Errorf("%w: object %s: hash mismatch", ErrCorrupt, h)
	}
	return nil
}

// chunk returns chunk i of a chunked object, checking its length.
func (o *objStore) chunk(h plumbing.Hash, m *objMeta, i uint32) ([]byte, error) {
	c, err := o.chunks.Get(chunkKey(m.prefix, i))
	if err != nil {
		return nil, fmt.Errorf("%w: object %s chunk %d: %v", ErrCorrupt, h, i, err)
	}
	want := int64(ChunkSize)
	if i == m.nchunks-1 {
		want = m.size - int64(i)*ChunkSize
	}
	if int64(len(c)) != want {
		return nil, fmt.Errorf("%w: object %s chunk %d: length", ErrCorrupt, h, i)
	}
	return c, nil
}

// computeHash is git's object hash (SHA-1 of type, size and content) with
// the standard library's SHA-1, which uses the CPU's SHA instructions.
func computeHash(t plumbing.ObjectType, content []byte) plumbing.Hash {
	hs := gitHasher(t, int64(len(content)))
	hs.Write(content)
	var h plumbing.Hash
	copy(h[:], hs.Sum(nil))
	return h
}

func gitHasher(t plumbing.ObjectType, size int64) hash.Hash {
	h := sha1.New()
	h.Write([]byte(t.String()))
	h.Write([]byte{' '})
	h.Write([]byte(strconv.FormatInt(size, 10)))
	h.Write([]byte{0})
	return h
}

// pendingObject is an object whose content is stored (or inline) but whose
// meta entry is not written yet: the commit batch writes it, so the object
// becomes visible with the ref that needs it.
type pendingObject struct {
	hash   plumbing.Hash
	meta   *objMeta
	exists bool   // already stored: nothing to add
	drop   []byte // prefix of chunks written in vain (a duplicate)
	nDrop  uint32
	// chunks of an in-memory object not written yet: the commit batch
	// writes them with the meta entry (one store write per commit). They
	// alias the caller's memory until then.
	chunks [][]byte
}

// addTo adds the object to a commit batch.
func (p *pendingObject) addTo(o *objStore, bt *kvstore.Batch) {
	if p.drop != nil {
		for i := uint32(0); i < p.nDrop; i++ {
			bt.Delete(o.chunks, chunkKey(p.drop, i))
		}
	}
	if !p.exists {
		for i, c := range p.chunks {
			bt.Put(o.chunks, chunkKey(p.meta.prefix, uint32(i)), c)
		}
		bt.Put(o.meta, p.hash[:], encodeMeta(p.meta))
	}
	p.chunks = nil
}

// batchedObjectLimit is the largest in-memory object whose chunks go into
// the commit batch itself; larger ones are written ahead in their own
// batches, so a commit batch stays small enough for the journal.
const batchedObjectLimit = 4 << 20

// memObject prepares an object whose whole content is in memory, without
// copying it: one hash pass, chunks cut from the slice. content must not
// change until the object is added to a batch (or, for a large object,
// until memObject returns).
func (o *objStore) memObject(t plumbing.ObjectType, content []byte) (*pendingObject, error) {
	if len(content) <= InlineLimit {
		return o.inlineObject(t, content)
	}
	if int64(len(content)) > maxFileSize {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, len(content), maxFileSize)
	}
	if len(content) > batchedObjectLimit {
		return o.largeMemObject(t, content)
	}
	h := computeHash(t, content)
	p := &pendingObject{hash: h, meta: o.chunkedMeta(t, len(content))}
	if _, ok := o.cache.get(h); ok {
		p.exists = true
		return p, nil
	}
	for i := 0; i < len(content); i += ChunkSize {
		p.chunks = append(p.chunks, content[i:min(i+ChunkSize, len(content))])
	}
	return p, nil
}

func (o *objStore) chunkedMeta(t plumbing.ObjectType, size int) *objMeta {
	nch := uint32((size + ChunkSize - 1) / ChunkSize)
	return &objMeta{typ: t, size: int64(size), prefix: cryptocore.RandomBytes(prefixSize), nchunks: nch}
}

// largeMemObject is memObject for content too large for the commit batch:
// its chunks are sealed and written in batches of their own while another
// core computes the git hash. Content already stored (known only once the
// hash is) has its new chunks dropped again.
func (o *objStore) largeMemObject(t plumbing.ObjectType, content []byte) (*pendingObject, error) {
	hc := make(chan plumbing.Hash, 1)
	go func() { hc <- computeHash(t, content) }()
	meta := o.chunkedMeta(t, len(content))
	var bt kvstore.Batch
	var err error
	for i, n := 0, 0; i < len(content) && err == nil; i, n = i+ChunkSize, n+1 {
		bt.Put(o.chunks, chunkKey(meta.prefix, uint32(n)), content[i:min(i+ChunkSize, len(content))])
		if bt.Size() >= chunkBatchBytes || i+ChunkSize >= len(content) {
			err = o.db.Write(&bt, false)
			bt.Reset()
		}
	}
	h := <-hc // content must not change until the hash is done, error or not
	exists := false
	if err == nil {
		if _, exists = o.cache.get(h); !exists {
			exists, err = o.has(h)
		}
	}
	if err != nil || exists {
		o.dropChunks(meta.prefix, meta.nchunks)
	}
	if err != nil {
		return nil, err
	}
	return &pendingObject{hash: h, meta: meta, exists: exists}, nil
}

var chunkBufs = sync.Pool{New: func() any { b := make([]byte, ChunkSize); return &b }}

// inlineObject prepares a small object held in memory.
func (o *objStore) inlineObject(t plumbing.ObjectType, content []byte) (*pendingObject, error) {
	if len(content) > InlineLimit {
		return o.writeObject(t, bytes.NewReader(content), int64(len(content)))
	}
	h := computeHash(t, content)
	// Only the cache is asked whether the object is stored already: a
	// store lookup of a new object (nearly every object of a commit) looks
	// in every level of the database, a cost that grows with the vault,
	// while writing the meta entry of a small object again is harmless (it
	// holds the same content).
	_, ok := o.cache.get(h)
	return &pendingObject{hash: h, exists: ok,
		meta: &objMeta{typ: t, size: int64(len(content)), inline: bytes.Clone(content)}}, nil
}

// chunkBatchBytes is how much chunk data goes into one store batch.
const chunkBatchBytes = 4 << 20

// writeObject stores the content read from r, streaming: memory stays
// bounded by a few chunks whatever the size. size is the exact size when
// known, or -1; then the git hash is computed in a second pass over the
// stored chunks. Chunks are written unsynced; the caller's commit batch
// (synced or not) orders them before the ref.
func (o *objStore) writeObject(t plumbing.ObjectType, r io.Reader, size int64) (*pendingObject, error) {
	if size > maxFileSize {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, size, maxFileSize)
	}
	head := make([]byte, InlineLimit+1)
	n, err := io.ReadFull(r, head)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return o.inlineObject(t, head[:n])
	}
	if err != nil {
		return nil, err
	}
	prefix := cryptocore.RandomBytes(prefixSize)
	var hs hash.Hash
	if size >= 0 {
		hs = gitHasher(t, size)
	}
	total, nch, err := o.writeChunks(prefix, io.MultiReader(bytes.NewReader(head), r), hs)
	if err == nil && size >= 0 && total != size {
		err = fmt.Errorf("short or long input: %d bytes, expected %d", total, size)
	}
	if err != nil {
		o.dropChunks(prefix, nch)
		return nil, err
	}
	m := &objMeta{typ: t, size: total, prefix: prefix, nchunks: nch}
	var h plumbing.Hash
	if hs != nil {
		copy(h[:], hs.Sum(nil))
	} else if h, err = o.hashChunks(m); err != nil {
		o.dropChunks(prefix, nch)
		return nil, err
	}
	p := &pendingObject{hash: h, meta: m}
	if ok, err := o.has(h); err != nil {
		return nil, err
	} else if ok {
		p.exists, p.drop, p.nDrop = true, prefix, nch
	}
	return p, nil
}

func (o *objStore) writeChunks(prefix []byte, r io.Reader, hs hash.Hash) (int64, uint32, error) {
	bp := chunkBufs.Get().(*[]byte)
	defer func() { clear(*bp); chunkBufs.Put(bp) }()
	buf := *bp
	var bt kvstore.Batch
	var total int64
	var i uint32
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			total += int64(n)
			if total > maxFileSize {
				return total, i, fmt.Errorf("%w: over %d bytes", ErrTooLarge, maxFileSize)
			}
			if hs != nil {
				hs.Write(buf[:n])
			}
			bt.Put(o.chunks, chunkKey(prefix, i), buf[:n])
			i++
			if bt.Size() >= chunkBatchBytes {
				if werr := o.db.Write(&bt, false); werr != nil {
					return total, i, werr
				}
				bt.Reset()
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return total, i, err
		}
	}
	return total, i, o.db.Write(&bt, false)
}

func (o *objStore) hashChunks(m *objMeta) (plumbing.Hash, error) {
	hs := gitHasher(m.typ, m.size)
	for i := uint32(0); i < m.nchunks; i++ {
		c, err := o.chunk(plumbing.ZeroHash, m, i)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		hs.Write(c)
	}
	var h plumbing.Hash
	copy(h[:], hs.Sum(nil))
	return h, nil
}

func (o *objStore) dropChunks(prefix []byte, n uint32) {
	var bt kvstore.Batch
	for i := uint32(0); i <= n; i++ {
		bt.Delete(o.chunks, chunkKey(prefix, i))
	}
	_ = o.db.Write(&bt, false)
}
