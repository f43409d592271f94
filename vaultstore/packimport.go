package vaultstore

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/pkfs/pkfs/internal/kvstore"
)

// ImportPack stores the objects of a packfile read from r (see pack.go for
// the format), streaming: whatever the pack, memory holds one tree or
// commit at most, and blobs go to the chunk store a chunk at a time. Each
// object's git hash is computed from its content as it streams; trees
// must be canonical (decodeTree), commits must decode and encode back to
// the same bytes; the pack's trailing SHA-1 must match. Anything else,
// and anything over lim, is refused with an error wrapping ErrBadPack or
// ErrPackTooLarge; a failure to read r is returned as it is (wrapped).
//
// The objects stay unreferenced until FastForward moves the head onto
// them. An object is stored only once it is whole and checked, so a
// refused pack leaves no partial object behind (the chunks of a blob cut
// short are dropped). The objects stored before the failure stay, as
// sound objects that nothing references: Verify checks them like any
// other, a later pack that needs them uses them, and reclaiming their
// space is the job of a garbage collection that does not exist yet.
//
// An empty r (no byte at all) is a pack of no objects.
func (v *Vault) ImportPack(r io.Reader, lim PackLimits) (PackStats, error) {
	if err := v.checkUsable(); err != nil {
		return PackStats{}, err
	}
	im := &packImport{v: v, lim: lim, in: newPackStream(r, lim.MaxBytes)}
	err := im.run()
	im.st.Bytes = im.in.n
	if err != nil {
		im.bt.Reset()
		return im.st, im.classify(err)
	}
	return im.st, nil
}

// packImport is the state of one ImportPack.
type packImport struct {
	v   *Vault
	lim PackLimits
	in  *packStream
	st  PackStats
	zr  io.ReadCloser // reused across objects
	buf bytes.Buffer  // the content of a tree, commit or small blob
	bt  kvstore.Batch // meta entries not written yet
}

// classify turns a decoding failure into ErrBadPack, unless it is a limit
// or a failure of the input itself.
func (im *packImport) classify(err error) error {
	var corrupt flate.CorruptInputError
	switch {
	case errors.Is(err, ErrBadPack), errors.Is(err, ErrPackTooLarge):
		return err
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: truncated after %d bytes", ErrBadPack, im.in.n)
	case errors.As(err, &corrupt), errors.Is(err, zlib.ErrChecksum), errors.Is(err, zlib.ErrHeader),
		errors.Is(err, zlib.ErrDictionary), errors.Is(err, io.ErrNoProgress):
		return fmt.Errorf("%w: object %d: %v", ErrBadPack, im.st.Objects, err)
	}
	return fmt.Errorf("failed to read the pack: %w", err)
}

func (im *packImport) run() error {
	var hdr [12]byte
	n, err := io.ReadFull(im.in, hdr[:])
	if n == 0 && err == io.EOF {
		return nil
	}
	if err != nil {
		return err
	}
	if string(hdr[:4]) != "PACK" {
		return fmt.Errorf("%w: no pack signature", ErrBadPack)
	}
	if ver := binary.BigEndian.Uint32(hdr[4:8]); ver != 2 {
		return fmt.Errorf("%w: pack version %d", ErrBadPack, ver)
	}
	count := binary.BigEndian.Uint32(hdr[8:12])
	if uint64(count) > uint64(im.lim.MaxObjects) {
		return fmt.Errorf("%w: %d objects, the limit is %d", ErrPackTooLarge, count, im.lim.MaxObjects)
	}
	for i := uint32(0); i < count; i++ {
		if err := im.object(); err != nil {
			return err
		}
		im.st.Objects++
	}
	sum := im.in.digest()
	var trailer [20]byte
	if _, err := io.ReadFull(im.in, trailer[:]); err != nil {
		return err
	}
	if trailer != sum {
		return fmt.Errorf("%w: pack checksum mismatch", ErrBadPack)
	}
	if end, err := im.in.atEOF(); err != nil {
		return err
	} else if !end {
		return fmt.Errorf("%w: data after the pack", ErrBadPack)
	}
	return im.flush()
}

// object reads one pack entry and stores it.
func (im *packImport) object() error {
	code, size, err := im.in.objectHeader()
	if err != nil {
		return err
	}
	typ, max, err := im.kind(code)
	if err != nil {
		return err
	}
	if size > max {
		return fmt.Errorf("%w: a %s of %d bytes, the limit is %d", ErrPackTooLarge, typ, size, max)
	}
	if im.st.Inflated += size; im.st.Inflated > im.lim.MaxInflated {
		return fmt.Errorf("%w: over %d bytes inflated", ErrPackTooLarge, im.lim.MaxInflated)
	}
	if err := im.inflate(); err != nil {
		return err
	}
	content := &exactReader{r: im.zr, left: size}
	if typ == plumbing.BlobObject && size > InlineLimit {
		return im.streamBlob(content, size)
	}
	im.buf.Reset()
	if _, err := im.buf.ReadFrom(content); err != nil {
		return err
	}
	if err := im.endOfObject(); err != nil {
		return err
	}
	return im.store(typ, im.buf.Bytes())
}

// kind maps a pack type code to an object type and its size limit,
// refusing what our encoder never sends.
func (im *packImport) kind(code byte) (plumbing.ObjectType, int64, error) {
	switch code {
	case 1:
		im.st.Commits++
		return plumbing.CommitObject, im.lim.MaxCommit, nil
	case 2:
		return plumbing.TreeObject, im.lim.MaxTree, nil
	case 3:
		return plumbing.BlobObject, min(im.lim.MaxBlob, maxFileSize), nil
	case 4:
		return 0, 0, fmt.Errorf("%w: a tag object (vaults hold none)", ErrBadPack)
	case 6, 7:
		return 0, 0, fmt.Errorf("%w: a delta object (pkfs packs hold whole objects only)", ErrBadPack)
	}
	return 0, 0, fmt.Errorf("%w: object type %d", ErrBadPack, code)
}

// inflate starts the zlib stream of the next object.
func (im *packImport) inflate() error {
	if im.zr == nil {
		zr, err := zlib.NewReader(im.in)
		im.zr = zr
		return err
	}
	return im.zr.(zlib.Resetter).Reset(im.in, nil)
}

// endOfObject checks that the zlib stream ends where the declared size
// does (which also checks its Adler-32).
func (im *packImport) endOfObject() error {
	var one [1]byte
	for range 100 {
		n, err := im.zr.Read(one[:])
		if n > 0 {
			return fmt.Errorf("%w: object %d inflates past its declared size", ErrBadPack, im.st.Objects)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return io.ErrNoProgress
}

// streamBlob stores a large blob a chunk at a time.
func (im *packImport) streamBlob(content io.Reader, size int64) error {
	p, err := im.v.objs.writeObject(plumbing.BlobObject, content, size)
	if err != nil {
		return err
	}
	if err := im.endOfObject(); err != nil {
		if p.exists && p.drop != nil {
			im.v.objs.dropChunks(p.drop, p.nDrop) // a duplicate's chunks
		}
		im.v.discard(p)
		return err
	}
	p.addTo(im.v.objs, &im.bt)
	return im.maybeFlush()
}

// store checks a whole object and adds it to the batch.
func (im *packImport) store(typ plumbing.ObjectType, b []byte) error {
	switch typ {
	case plumbing.TreeObject:
		if _, err := decodeTree(b); err != nil {
			return fmt.Errorf("%w: object %d: %v", ErrBadPack, im.st.Objects, err)
		}
	case plumbing.CommitObject:
		if _, err := decodeCommit(b); err != nil {
			return fmt.Errorf("%w: object %d: %v", ErrBadPack, im.st.Objects, err)
		}
	}
	p, err := im.v.objs.memObject(typ, b) // copies or seals b before returning
	if err != nil {
		return err
	}
	p.addTo(im.v.objs, &im.bt)
	return im.maybeFlush()
}

func (im *packImport) maybeFlush() error {
	if im.bt.Size() < chunkBatchBytes {
		return nil
	}
	return im.flush()
}

// flush writes the meta entries gathered so far (unsynced: the head moves
// in a batch of its own, after them).
func (im *packImport) flush() error {
	if im.bt.Len() == 0 {
		return nil
	}
	err := im.v.s.db.Write(&im.bt, false)
	im.bt.Reset()
	return err
}

// exactReader reads an object's declared size from its zlib stream: an
// object whose stream ends early is malformed (not merely short, which
// writeObject would store as a smaller object).
type exactReader struct {
	r    io.Reader
	left int64
}

func (e *exactReader) Read(b []byte) (int, error) {
	if e.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > e.left {
		b = b[:e.left]
	}
	n, err := e.r.Read(b)
	e.left -= int64(n)
	switch {
	case err == io.EOF && e.left > 0:
		return n, fmt.Errorf("%w: an object is shorter than its declared size", ErrBadPack)
	case err == io.EOF:
		return n, nil // the end of the stream is checked by endOfObject
	case errors.Is(err, io.ErrUnexpectedEOF):
		// the pack ended inside the stream: not the end of a short
		// object, which is how a reader of the content would take it
		return n, fmt.Errorf("%w: truncated inside an object", ErrBadPack)
	}
	return n, err
}
