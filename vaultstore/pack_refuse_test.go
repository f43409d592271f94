package vaultstore

import (
	"bytes"
	"compress/zlib"
	"errors"
	"io"
	"strings"
	"testing"
)

// zlibDict is a zlib stream that needs a preset dictionary.
func zlibDict(content []byte) []byte {
	var b bytes.Buffer
	zw, _ := zlib.NewWriterLevelDict(&b, zlib.DefaultCompression, []byte("dictionary"))
	zw.Write(content)
	zw.Close()
	return b.Bytes()
}

// Every pack that is malformed, holds what our encoder never sends, or is
// over its limits is refused with the matching error, and leaves no chunk
// and nothing that Verify trips on.
func TestImportPackRefuses(t *testing.T) {
	tree := encodeTree([]treeEntry{{name: "a", mode: 0o100644}})
	var base [20]byte
	big := hugeZeros(3*ChunkSize + 5)
	small := func(lim *PackLimits) {
		lim.MaxBlob, lim.MaxTree, lim.MaxCommit, lim.MaxInflated = 1000, 1000, 1000, 1500
	}
	tests := []struct {
		name string
		pack func() []byte
		lim  func(*PackLimits)
		want error
		msg  string
	}{
		{"no signature", func() []byte { return []byte("KCAP\x00\x00\x00\x02\x00\x00\x00\x00") }, nil, ErrBadPack, "signature"},
		{"version 3", func() []byte { b := new(rawPack).bytes(); b[7] = 3; return b }, nil, ErrBadPack, "version"},
		{"short header", func() []byte { return []byte("PACK\x00\x00") }, nil, ErrBadPack, "truncated"},
		{"ofs delta", func() []byte {
			return new(rawPack).obj(3, []byte("x")).raw([]byte{0x60 | 5, 1}).raw(zlibOf("d")).withCount(2)
		}, nil, ErrBadPack, "delta"},
		{"ref delta", func() []byte {
			return new(rawPack).raw([]byte{0x70 | 5}).raw(base[:]).raw(zlibOf("delta")).withCount(1)
		}, nil, ErrBadPack, "delta"},
		{"tag", func() []byte { return new(rawPack).obj(4, []byte("object x")).bytes() }, nil, ErrBadPack, "tag"},
		{"type 5", func() []byte { return new(rawPack).obj(5, []byte("x")).bytes() }, nil, ErrBadPack, "type"},
		{"type 0", func() []byte { return new(rawPack).obj(0, []byte("x")).bytes() }, nil, ErrBadPack, "type"},
		{"size that does not fit", func() []byte {
			return new(rawPack).raw([]byte{0xb0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}).withCount(1)
		}, nil, ErrBadPack, "size"},
		{"too many objects", func() []byte { return new(rawPack).obj(3, nil).obj(3, []byte("a")).bytes() },
			func(l *PackLimits) { l.MaxObjects = 1 }, ErrPackTooLarge, "2 objects"},
		{"a blob over its limit", func() []byte { return new(rawPack).obj(3, hugeZeros(1001)).bytes() }, small, ErrPackTooLarge, "blob of 1001"},
		{"a tree over its limit", func() []byte { return new(rawPack).add(2, 1<<30, tree).bytes() }, nil, ErrPackTooLarge, "tree of 1073741824"},
		{"a commit over its limit", func() []byte { return new(rawPack).add(1, 2<<20, nil).bytes() }, nil, ErrPackTooLarge, "commit of"},
		{"over the inflated total", func() []byte { return new(rawPack).obj(3, hugeZeros(900)).obj(3, hugeZeros(900)).bytes() }, small, ErrPackTooLarge, "inflated"},
		{"over the byte limit", func() []byte { return new(rawPack).obj(3, []byte(strings.Repeat("x", 100))).bytes() },
			func(l *PackLimits) { l.MaxBytes = 20 }, ErrPackTooLarge, "over 20 bytes"},
		{"checksum mismatch", func() []byte { b := new(rawPack).obj(3, []byte("x")).bytes(); b[len(b)-1] ^= 1; return b }, nil, ErrBadPack, "checksum"},
		{"data after the pack", func() []byte { return append(new(rawPack).obj(3, []byte("x")).bytes(), 0) }, nil, ErrBadPack, "after the pack"},
		{"fewer objects than announced", func() []byte { return new(rawPack).obj(3, []byte("x")).withCount(2) }, nil, ErrBadPack, ""},
		{"no trailer", func() []byte { b := new(rawPack).obj(3, []byte("x")).bytes(); return b[:len(b)-20] }, nil, ErrBadPack, "truncated"},
		{"object shorter than declared", func() []byte { return new(rawPack).add(3, 10, []byte("abc")).bytes() }, nil, ErrBadPack, "shorter"},
		{"large blob shorter than declared", func() []byte { return new(rawPack).add(3, len(big)+1, big).bytes() }, nil, ErrBadPack, "shorter"},
		{"object longer than declared", func() []byte { return new(rawPack).add(3, 2, []byte("abc")).bytes() }, nil, ErrBadPack, "past its declared size"},
		{"large blob longer than declared", func() []byte { return new(rawPack).add(3, len(big)-1, big).bytes() }, nil, ErrBadPack, "past its declared size"},
		{"large blob cut short", func() []byte { b := new(rawPack).obj(3, big).bytes(); return b[:len(b)/2] }, nil, ErrBadPack, "truncated"},
		{"zlib garbage", func() []byte { return new(rawPack).raw([]byte{0x33}).raw([]byte("garbage!")).withCount(1) }, nil, ErrBadPack, "object 0"},
		{"zlib checksum", func() []byte {
			z := zlibOf("abc")
			z[len(z)-1] ^= 1
			return new(rawPack).raw([]byte{0x33}).raw(z).withCount(1)
		}, nil, ErrBadPack, "checksum"},
		{"zlib dictionary", func() []byte { return new(rawPack).raw([]byte{0x33}).raw(zlibDict([]byte("abc"))).withCount(1) }, nil, ErrBadPack, "dictionary"},
		{"zero-padded tree", func() []byte { return new(rawPack).obj(2, []byte(rawEntry("040000", "d"))).bytes() }, nil, ErrBadPack, "tree entry mode"},
		{"not a commit", func() []byte { return new(rawPack).obj(1, []byte("hello")).bytes() }, nil, ErrBadPack, "commit"},
		{"PGP-signed commit", func() []byte {
			c := strings.Replace(string(ourCommit(strings.Repeat("1", 40))), "\n\nmsg", "\ngpgsig -----BEGIN PGP SIGNATURE-----\n x\n -----END PGP SIGNATURE-----\n\nmsg", 1)
			return new(rawPack).obj(1, []byte(c)).bytes()
		}, nil, ErrBadPack, "commit"},
		{"commit with an extra header", func() []byte {
			c := strings.Replace(string(ourCommit(strings.Repeat("1", 40))), "\n\nmsg", "\nx-extra y\n\nmsg", 1)
			return new(rawPack).obj(1, []byte(c)).bytes()
		}, nil, ErrBadPack, "commit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newReplica(t, newTestVault(t))
			lim := DefaultPackLimits()
			if tt.lim != nil {
				tt.lim(&lim)
			}
			_, err := r.ImportPack(bytes.NewReader(tt.pack()), lim)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("import: %v; want %v saying %q", err, tt.want, tt.msg)
			}
			if n := chunkCount(t, r); n != 0 {
				t.Fatalf("%d chunks left behind", n)
			}
			if rep, err := r.Verify(); err != nil || !rep.OK() {
				t.Fatalf("verify: %v %v", err, rep.Problems)
			}
		})
	}
}

func zlibOf(s string) []byte {
	var b bytes.Buffer
	zw := zlib.NewWriter(&b)
	zw.Write([]byte(s))
	zw.Close()
	return b.Bytes()
}

// A canonical commit of ours decodes; our own commits pass.
func TestDecodeCommitAcceptsOurs(t *testing.T) {
	if _, err := decodeCommit(ourCommit(strings.Repeat("1", 40))); err != nil {
		t.Fatal(err)
	}
	v := newTestVault(t)
	write(t, v, "a", "b")
	m, b, err := v.objs.readAll(v.headCommit())
	if err != nil || m.typ.String() != "commit" {
		t.Fatal(err)
	}
	if _, err := decodeCommit(b); err != nil {
		t.Fatalf("our own commit: %v", err)
	}
}

// A failure to read the input is not a bad pack: it is returned as it is.
func TestImportPackReadError(t *testing.T) {
	r := newReplica(t, newTestVault(t))
	pack := new(rawPack).obj(3, []byte("abc")).bytes()
	boom := errors.New("connection lost")
	_, err := r.ImportPack(io.MultiReader(bytes.NewReader(pack[:20]), &zeros{err: boom}), DefaultPackLimits())
	if !errors.Is(err, boom) || errors.Is(err, ErrBadPack) {
		t.Fatalf("import: %v", err)
	}
}
