package vaultstore

import (
	"bufio"
	"compress/zlib"
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"io"
)

// ExportPack writes the objects as a packfile (see pack.go) for a peer
// that lacks them (see MissingObjects), streaming: a large blob goes out a
// chunk at a time, its git hash rechecked on the way, so a damaged object
// fails the export instead of reaching the peer. Nothing is written for no
// objects (older nodes send nothing then, and read nothing as no pack).
func (v *Vault) ExportPack(w io.Writer, objects []Hash) error {
	if len(objects) == 0 {
		return nil
	}
	if err := v.checkUsable(); err != nil {
		return err
	}
	if uint64(len(objects)) > 1<<32-1 {
		return fmt.Errorf("%w: %d objects in one pack", ErrPackTooLarge, len(objects))
	}
	bw := bufio.NewWriterSize(w, 64<<10) // few, full data frames
	sum := sha1.New()
	out := io.MultiWriter(bw, sum)
	hdr := []byte("PACK\x00\x00\x00\x02")
	hdr = binary.BigEndian.AppendUint32(hdr, uint32(len(objects)))
	if _, err := out.Write(hdr); err != nil {
		return err
	}
	// small objects get git's default compression, large blobs the
	// fastest: secrets are rarely large, and large content is often
	// already compressed
	small, _ := zlib.NewWriterLevel(out, zlib.DefaultCompression)
	large, _ := zlib.NewWriterLevel(out, zlib.BestSpeed)
	var head []byte
	for _, h := range objects {
		m, err := v.objs.getMeta(h.git())
		if err != nil {
			return wrapObjErr(h.git(), err)
		}
		head = appendObjectHeader(head[:0], byte(m.typ), m.size)
		if _, err := out.Write(head); err != nil {
			return err
		}
		zw := small
		if m.chunked() {
			zw = large
		}
		zw.Reset(out)
		if m.chunked() {
			err = v.objs.streamChunks(h.git(), m, zw)
		} else {
			_, err = zw.Write(m.inline)
		}
		if err == nil {
			err = zw.Close()
		}
		if err != nil {
			return err
		}
	}
	if _, err := bw.Write(sum.Sum(nil)); err != nil {
		return err
	}
	return bw.Flush()
}
