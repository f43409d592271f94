package vaultstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// FuzzImportPack: any bytes either import or are refused as a bad pack or
// a pack over its limits (never another error, never a panic); a pack that
// imports had exactly the objects its header announced.
func FuzzImportPack(f *testing.F) {
	v := newTestVault(f)
	fillForPacks(f, v)
	objs, err := v.MissingObjects(ZeroHash)
	if err != nil {
		f.Fatal(err)
	}
	var ours bytes.Buffer
	if err := v.ExportPack(&ours, objs[:min(len(objs), 6)]); err != nil {
		f.Fatal(err)
	}
	f.Add(ours.Bytes())
	f.Add(new(rawPack).obj(3, []byte("x")).obj(2, []byte(rawEntry("100644", "a"))).bytes())
	f.Add(new(rawPack).obj(1, ourCommit(emptyTreeHash.String())).bytes())
	f.Add(new(rawPack).obj(3, hugeZeros(InlineLimit+10)).bytes())
	f.Add(new(rawPack).raw([]byte{0x70 | 5}).raw(make([]byte, 20)).raw(zlibOf("delta")).withCount(1))
	f.Add([]byte{})

	r := newReplica(f, v)
	lim := PackLimits{MaxBytes: 1 << 20, MaxObjects: 64, MaxBlob: 2 * InlineLimit, MaxTree: 4096, MaxCommit: 4096, MaxInflated: 1 << 16}
	f.Fuzz(func(t *testing.T, pack []byte) {
		st, err := r.ImportPack(bytes.NewReader(pack), lim)
		if err != nil {
			if !errors.Is(err, ErrBadPack) && !errors.Is(err, ErrPackTooLarge) {
				t.Fatalf("import: %v", err)
			}
			return
		}
		if len(pack) >= 12 && st.Objects != int(binary.BigEndian.Uint32(pack[8:12])) {
			t.Fatalf("imported %d objects of %d", st.Objects, binary.BigEndian.Uint32(pack[8:12]))
		}
	})
}
