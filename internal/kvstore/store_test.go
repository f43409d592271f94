package kvstore

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/pkfs/pkfs/internal/cryptocore"
)

func openTest(t testing.TB) (*DB, string) {
	t.Helper()
	dir := t.TempDir()
	d, err := Open(dir, cryptocore.NewRandomKey())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, dir
}

func TestPutGetDeleteForEach(t *testing.T) {
	d, _ := openTest(t)
	a, b := d.Bucket("a"), d.Bucket("b")
	if err := a.Put([]byte("k1"), []byte("v1"), true); err != nil {
		t.Fatal(err)
	}
	var bt Batch
	bt.Put(a, []byte("k2"), []byte("v2"))
	bt.Put(b, []byte("k1"), []byte("other"))
	if err := d.Write(&bt, false); err != nil {
		t.Fatal(err)
	}
	if v, err := a.Get([]byte("k1")); err != nil || string(v) != "v1" {
		t.Fatalf("get: %q %v", v, err)
	}
	if v, _ := b.Get([]byte("k1")); string(v) != "other" {
		t.Fatal("buckets are not separate")
	}
	if _, err := a.Get([]byte("nope")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
	got := map[string]string{}
	a.ForEach(func(k, v []byte) error { got[string(k)] = string(v); return nil })
	if len(got) != 2 || got["k1"] != "v1" || got["k2"] != "v2" {
		t.Fatalf("ForEach: %v", got)
	}
	if n, _ := a.Count(); n != 2 {
		t.Fatalf("count %d", n)
	}
	a.Delete([]byte("k1"), false)
	if ok, _ := a.Has([]byte("k1")); ok {
		t.Fatal("deleted key still there")
	}
	var drop Batch
	a.DropInto(&drop)
	d.Write(&drop, true)
	if n, _ := a.Count(); n != 0 {
		t.Fatal("drop left entries")
	}
	if n, _ := b.Count(); n != 1 {
		t.Fatal("drop touched another bucket")
	}
}

func TestReopenWithWrongKeyFailsAuth(t *testing.T) {
	dir := t.TempDir()
	d, _ := Open(dir, cryptocore.NewRandomKey())
	d.Bucket("x").Put([]byte("k"), []byte("v"), true)
	d.Close()
	d2, err := Open(dir, cryptocore.NewRandomKey())
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	// Another data key derives another tag: the entry is invisible, not readable.
	if _, err := d2.Bucket("x").Get([]byte("k")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("got %v", err)
	}
}

// Tamper with the raw database: a flipped byte and a value moved to another
// key both fail authentication; nothing returns wrong bytes.
func TestTamperedValues(t *testing.T) {
	d, _ := openTest(t)
	bk := d.Bucket("secrets")
	bk.Put([]byte("one"), []byte("value-one"), true)
	bk.Put([]byte("two"), []byte("value-two"), true)
	k1, k2 := bk.dbKey([]byte("one")), bk.dbKey([]byte("two"))
	raw, _ := d.ldb.Get(k1, nil)
	for i := range raw {
		c := bytes.Clone(raw)
		c[i] ^= 0x80
		d.ldb.Put(k1, c, nil)
		if v, err := bk.Get([]byte("one")); !errors.Is(err, ErrDamaged) {
			t.Fatalf("byte %d flipped: %q %v", i, v, err)
		}
	}
	d.ldb.Put(k1, raw[:len(raw)-1], nil)
	if _, err := bk.Get([]byte("one")); !errors.Is(err, ErrDamaged) {
		t.Fatal("truncated value accepted")
	}
	raw2, _ := d.ldb.Get(k2, nil)
	d.ldb.Put(k1, raw2, nil) // move "two" under "one"
	if _, err := bk.Get([]byte("one")); !errors.Is(err, ErrDamaged) {
		t.Fatal("moved value accepted")
	}
	if err := bk.ForEach(func(k, v []byte) error { return nil }); !errors.Is(err, ErrDamaged) {
		t.Fatal("ForEach accepted a moved value")
	}
}

// Every byte written under the node path is grepped for sentinels: keys,
// values and bucket names must not appear in plaintext.
func TestNoPlaintextOnDisk(t *testing.T) {
	d, dir := openTest(t)
	bk := d.Bucket("bucket-SENTINELNAME")
	for i := 0; i < 200; i++ {
		bk.Put(fmt.Appendf(nil, "SENTINELKEY-%d", i), fmt.Appendf(nil, "SENTINELVALUE-%d-%s", i, bytes.Repeat([]byte("x"), 100)), i%2 == 0)
	}
	vk, _ := d.NewVaultKey(new(Batch), []byte("SENTINELVAULT"))
	vb := d.BucketWithKey("vault/SENTINELVAULT", vk)
	vb.Put([]byte("SENTINELOBJ"), []byte("SENTINELCONTENT"), true)
	d.Close()
	assertNoSentinel(t, dir, "SENTINEL")
}

func assertNoSentinel(t *testing.T, dir, s string) {
	t.Helper()
	n := 0
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		n++
		b, _ := os.ReadFile(p)
		if bytes.Contains(b, []byte(s)) {
			t.Errorf("%s contains %q in plaintext", p, s)
		}
		return nil
	})
	if n == 0 {
		t.Fatal("no files to grep")
	}
}

func TestVaultKeys(t *testing.T) {
	d, _ := openTest(t)
	var bt Batch
	k, err := d.NewVaultKey(&bt, []byte("v1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.VaultKey([]byte("v1")); !errors.Is(err, ErrNotFound) {
		t.Fatal("key visible before the batch is written")
	}
	d.Write(&bt, true)
	got, err := d.VaultKey([]byte("v1"))
	if err != nil || !got.Equal(&k) {
		t.Fatalf("vault key: %v", err)
	}
	if _, err := d.NewVaultKey(new(Batch), []byte("v1")); !errors.Is(err, ErrKeyExists) {
		t.Fatal("second key for the same vault")
	}
	var del Batch
	d.DeleteVaultKey(&del, []byte("v1"))
	d.Write(&del, true)
	if _, err := d.VaultKey([]byte("v1")); !errors.Is(err, ErrNotFound) {
		t.Fatal("deleted key still there")
	}
}

func TestClosed(t *testing.T) {
	d, _ := openTest(t)
	b := d.Bucket("x")
	d.Close()
	if _, err := b.Get([]byte("k")); !errors.Is(err, ErrClosed) {
		t.Fatalf("get after close: %v", err)
	}
	if err := b.Put([]byte("k"), nil, false); !errors.Is(err, ErrClosed) {
		t.Fatalf("put after close: %v", err)
	}
}

func FuzzSplitPlain(f *testing.F) {
	f.Add([]byte{3, 'a', 'b', 'c', 'v'})
	f.Add([]byte{0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		k, v, err := splitPlain(b)
		if err == nil && len(k)+len(v) > len(b) {
			t.Fatal("split longer than input")
		}
	})
}

func FuzzOpenValue(f *testing.F) {
	d, _ := openTest(f)
	bk := d.Bucket("f")
	dk := bk.dbKey([]byte("k"))
	f.Add(bk.seal(dk, []byte("k"), []byte("v")))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, _, err := bk.open(dk, b); err == nil && len(b) < cryptocore.Overhead {
			t.Fatal("short value opened")
		}
	})
}
