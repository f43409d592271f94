package vaultstore

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// rawEntry is one tree entry spelled by hand: mode, name, 20-byte hash.
func rawEntry(mode, name string) string {
	return mode + " " + name + "\x00" + strings.Repeat("\x01", 20)
}

// Only the encoding encodeTree writes decodes: every other spelling of a
// directory, and every entry a vault cannot hold, is damage.
func TestDecodeTreeAcceptsOnlyCanonicalTrees(t *testing.T) {
	good := []string{
		"",
		rawEntry("100644", "a"),
		rawEntry("100644", "a") + rawEntry("100755", "b") + rawEntry("120000", "c") + rawEntry("40000", "d"),
		rawEntry("100644", "a.b") + rawEntry("40000", "a"), // "a.b" < "a/"
		rawEntry("40000", "a") + rawEntry("100644", "a0"),  // "a/" < "a0"
		rawEntry("100644", strings.Repeat("n", 255)),
	}
	for _, b := range good {
		tr, err := decodeTree([]byte(b))
		if err != nil {
			t.Fatalf("%q: %v", b, err)
		}
		if again := encodeTree(tr.entries); !bytes.Equal(again, []byte(b)) {
			t.Fatalf("%q encodes back as %q", b, again)
		}
	}
	bad := map[string]string{
		"zero-padded directory mode": rawEntry("040000", "d"),
		"zero-padded file mode":      rawEntry("0100644", "a"),
		"group-writable file mode":   rawEntry("100664", "a"),
		"gitlink (submodule)":        rawEntry("160000", "m"),
		"plain 644":                  rawEntry("644", "a"),
		"unknown mode":               rawEntry("100600", "a"),
		"mode with a sign":           rawEntry("+40000", "d"),
		"no mode":                    rawEntry("", "a"),
		"empty name":                 rawEntry("100644", ""),
		"dot":                        rawEntry("40000", "."),
		"dot dot":                    rawEntry("40000", ".."),
		"slash in a name":            rawEntry("100644", "a/b"),
		"name of 256 bytes":          rawEntry("100644", strings.Repeat("n", 256)),
		"two files of one name":      rawEntry("100644", "a") + rawEntry("100644", "a"),
		"file and directory":         rawEntry("100644", "a") + rawEntry("40000", "a"),
		"out of order":               rawEntry("100644", "b") + rawEntry("100644", "a"),
		"directory out of git order": rawEntry("100644", "a0") + rawEntry("40000", "a"),
		"short hash":                 "100644 a\x00" + strings.Repeat("\x01", 19),
		"no NUL":                     "100644 a",
		"trailing byte":              rawEntry("100644", "a") + "x",
	}
	for why, b := range bad {
		if _, err := decodeTree([]byte(b)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s (%q): %v", why, b, err)
		}
	}
}

// FuzzDecodeTree: whatever decodes is canonical, so it encodes back to
// exactly the bytes it came from.
func FuzzDecodeTree(f *testing.F) {
	f.Add(encodeTree([]treeEntry{{name: "a", mode: 0o100644}, {name: "d", mode: 0o40000}}))
	f.Add([]byte(rawEntry("040000", "d")))
	f.Add([]byte(rawEntry("100644", "a") + rawEntry("40000", "a")))
	f.Add([]byte("100644 x\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := decodeTree(b)
		if err != nil {
			return
		}
		if again := encodeTree(append([]treeEntry(nil), tr.entries...)); !bytes.Equal(again, b) {
			t.Fatalf("non-canonical tree accepted: %q encodes back as %q", b, again)
		}
	})
}
