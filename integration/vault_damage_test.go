package integration

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/pkfs/pkfs/internal/kvstore"
	internalnode "github.com/pkfs/pkfs/internal/node"
	"github.com/pkfs/pkfs/vaultstore"
)

// flipByte flips one bit in the middle of a sealed entry; applied twice it
// restores the entry.
func flipByte(b []byte) []byte {
	c := bytes.Clone(b)
	c[len(c)/2] ^= 0x01
	return c
}

// target is the stored entry of vault "v" to damage: the ref, or the meta
// entry (chunk < 0) or a chunk of the object at path.
type target struct {
	path  string
	chunk int
	ref   bool
	hash  vaultstore.Hash // found on first use, so that the damaged object need not be read again
}

// tamper opens the node in this process (no pkfs may run), flips a byte of
// the target entry, and closes the node again.
func tamper(t *testing.T, n *cliNode, tg *target) {
	t.Helper()
	nd, err := internalnode.Open(n.path, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	defer nd.Close()
	s, err := vaultstore.Open(nd.DB, nd.Keyring)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var b *kvstore.Bucket
	var k []byte
	if tg.ref {
		if b, k, err = s.TestOnlyRefKey("v"); err != nil {
			t.Fatal(err)
		}
	} else {
		v, err := s.Vault("v")
		if err != nil {
			t.Fatal(err)
		}
		if tg.hash.IsZero() {
			snap, err := v.Snapshot("")
			if err != nil {
				t.Fatal(err)
			}
			e, err := snap.Stat(tg.path)
			if err != nil {
				t.Fatal(err)
			}
			tg.hash = e.Hash
		}
		if b, k, err = v.TestOnlyObjectKey(tg.hash, tg.chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := nd.DB.TestOnlyTamper(b, k, flipByte); err != nil {
		t.Fatal(err)
	}
}

// A flipped byte in a stored object or ref: vaults verify exits 8 and names
// the damage, reads of the damaged file fail with 8 and never print a wrong
// byte, reads of sound files still work, and the repaired store is sound.
func TestVaultDamage(t *testing.T) {
	n := newNode(t, pkfsBinDir(t))
	n.ok(nil, "vaults", "create", "v")
	small := []byte("small secret\x00value")
	big := make([]byte, 3*vaultstore.ChunkSize+77)
	rand.NewChaCha8([32]byte{1}).Read(big)
	n.write("v:small", small)
	n.write("v:dir/big", big)
	n.write("v:dir/sound", []byte("sound"))
	n.ok(nil, "vaults", "verify", "v")

	for _, tc := range []struct {
		name    string
		target  target
		path    string // the secret whose read must fail
		content []byte
	}{
		{"inline object", target{path: "small", chunk: -1}, "v:small", small},
		{"meta of a chunked object", target{path: "dir/big", chunk: -1}, "v:dir/big", big},
		{"first chunk", target{path: "dir/big", chunk: 0}, "v:dir/big", big},
		{"middle chunk", target{path: "dir/big", chunk: 2}, "v:dir/big", big},
		{"last chunk", target{path: "dir/big", chunk: 3}, "v:dir/big", big},
		{"tree", target{path: "dir", chunk: -1}, "v:dir/sound", []byte("sound")},
		{"ref", target{ref: true}, "v:small", small},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logBefore := n.logIDs("v")
			tamper(t, n, &tc.target)

			out, errs := n.fails(8, nil, "vaults", "verify", "v")
			if !strings.Contains(errs, "damaged") {
				t.Errorf("verify: stderr %q", errs)
			}
			t.Logf("verify: %s%s", out, errs)

			out, errs = n.fails(8, nil, "secrets", "cat", tc.path)
			if !bytes.HasPrefix(tc.content, []byte(out)) || len(out) >= len(tc.content) {
				t.Errorf("cat of a damaged file printed %d bytes that are not a strict prefix of its content", len(out))
			}
			if !strings.HasPrefix(errs, "pkfs: ") || !strings.Contains(errs, "damaged") {
				t.Errorf("cat: stderr %q", errs)
			}
			if tc.name != "ref" && tc.name != "tree" {
				if got := n.ok(nil, "secrets", "cat", "v:dir/sound"); got != "sound" {
					t.Errorf("a sound file next to the damage reads %q", got)
				}
			}

			tamper(t, n, &tc.target) // flip it back
			n.ok(nil, "vaults", "verify", "v")
			if got := n.ok(nil, "secrets", "cat", tc.path); got != string(tc.content) {
				t.Errorf("after repair: %d bytes", len(got))
			}
			if after := n.logIDs("v"); !slices.Equal(after, logBefore) {
				t.Errorf("log changed: %v, was %v", after, logBefore)
			}
		})
	}
}
