package p2p

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pkfs/pkfs/gestalt"
	"github.com/pkfs/pkfs/vaultstore"
)

// evilFetch is a vaults.fetch handler of a malicious origin: it sends the
// objects the real handler would send, without those drop picks (or raw
// bytes instead of a pack), and answers the head that head picks.
type evilFetch struct {
	v    *vaultstore.Vault
	drop func(vaultstore.ObjectType) bool
	raw  []byte
	head func(real vaultstore.Hash) vaultstore.Hash
}

func (e evilFetch) handler(t *testing.T) Handler {
	return func(ctx context.Context, from Peer, body json.RawMessage, out io.Writer) (any, error) {
		var req fetchRequest
		if err := decodeBody(body, &req); err != nil {
			return nil, err
		}
		hashes, err := e.v.MissingObjects(req.Have.V())
		if err != nil {
			return nil, err
		}
		if e.drop != nil {
			hashes = slices.DeleteFunc(hashes, func(h vaultstore.Hash) bool {
				typ, err := e.v.ObjectType(h)
				if err != nil {
					t.Errorf("object %s: %v", h, err)
					return false
				}
				return e.drop(typ)
			})
		}
		if e.raw != nil {
			if _, err := out.Write(e.raw); err != nil {
				return nil, err
			}
		} else if err := e.v.ExportPack(out, hashes); err != nil {
			return nil, err
		}
		head := e.v.Head()
		if e.head != nil {
			head = e.head(head)
		}
		return fetchResponse{Head: Hash(head), Objects: len(hashes), Commits: 1}, nil
	}
}

func is(t vaultstore.ObjectType) func(vaultstore.ObjectType) bool {
	return func(o vaultstore.ObjectType) bool { return o == t }
}

// evilPair is an origin a with a vault v that b cloned, and two commits on
// v that b has not pulled yet.
type evilPair struct {
	a, b   *sysNode
	v, r   *vaultstore.Vault
	before vaultstore.Hash // the replica's head
	blob   vaultstore.Hash // a blob of the new commits
}

func newEvilPair(t *testing.T) *evilPair {
	a, b := newSys(t), newSysEvery(t, time.Hour)
	a.meet(t, b)
	v, _ := a.Vaults.Create("prod")
	writeFile(t, v, "db/password", "one")
	a.ACL.SetVault(v.ID().String(), b.Keyring.NodeID(), []gestalt.Action{gestalt.Clone, gestalt.Pull})
	r, _, err := b.Clone(ctx(t), a.Keyring.NodeID(), "prod", nil)
	if err != nil {
		t.Fatal(err)
	}
	a.repl.stop() // no announcements: b pulls only when the test says
	writeFile(t, v, "db/password", "two")
	writeFile(t, v, "other/file", "new")
	p := &evilPair{a: a, b: b, v: v, r: r, before: r.Head()}
	news, _ := v.MissingObjects(p.before)
	for _, h := range news {
		if typ, err := v.ObjectType(h); err == nil && typ == vaultstore.BlobObject {
			p.blob = h
		}
	}
	if p.blob.IsZero() {
		t.Fatal("no new blob")
	}
	return p
}

// TestPackMissingObjectsRejected: a malicious origin sends packs that do
// not hold everything the head it announces needs, or no pack, or a head
// that is no descendant. The pull fails with an error that says what is
// wrong, and the replica is unchanged and sound; an honest pull after it
// still works.
func TestPackMissingObjectsRejected(t *testing.T) {
	all := func(vaultstore.ObjectType) bool { return true }
	tests := []struct {
		name string
		evil func(p *evilPair) evilFetch
		want error
		msg  string
	}{
		{"pack without the new blobs", func(p *evilPair) evilFetch { return evilFetch{v: p.v, drop: is(vaultstore.BlobObject)} },
			ErrBadRequest, "objects are missing"},
		{"pack without the new trees", func(p *evilPair) evilFetch { return evilFetch{v: p.v, drop: is(vaultstore.TreeObject)} },
			ErrBadRequest, "objects are missing"},
		{"pack without the commits", func(p *evilPair) evilFetch { return evilFetch{v: p.v, drop: is(vaultstore.CommitObject)} },
			ErrBadRequest, "objects are missing"},
		{"no pack at all", func(p *evilPair) evilFetch { return evilFetch{v: p.v, drop: all} },
			ErrBadRequest, "objects are missing"},
		{"garbage instead of a pack", func(p *evilPair) evilFetch {
			return evilFetch{v: p.v, raw: []byte("PACK\x00\x00\x00\x02\x00\x00\x00\x01garbage that is no pack")}
		}, ErrBadRequest, "bad pack"},
		{"a blob as the head", func(p *evilPair) evilFetch {
			return evilFetch{v: p.v, head: func(vaultstore.Hash) vaultstore.Hash { return p.blob }}
		}, ErrBadRequest, "objects are missing"},
		{"a head that does not descend from ours", func(p *evilPair) evilFetch {
			u, _ := p.a.Vaults.Create("unrelated")
			writeFile(t, u, "x", "y")
			return evilFetch{v: u}
		}, ErrConflict, "does not contain this replica's head"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newEvilPair(t)
			p.a.Node.Handle("vaults.fetch", tt.evil(p).handler(t))
			_, err := p.b.Pull(ctx(t), p.r.Name(), nil)
			t.Logf("pull: %v", err)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("pull: %v; want %v saying %q", err, tt.want, tt.msg)
			}
			if p.r.Head() != p.before || readFile(p.r, "db/password") != "one" || readFile(p.r, "other/file") != "" {
				t.Fatalf("the replica moved: head %s, content %q", p.r.Head(), readFile(p.r, "db/password"))
			}
			if rep, err := p.r.Verify(); err != nil || !rep.OK() {
				t.Fatalf("replica damaged: %v %v", err, rep.Problems)
			}
			// the honest origin again: the replica is still usable
			p.a.Node.Handle("vaults.fetch", p.a.handleFetch)
			if _, err := p.b.Pull(ctx(t), p.r.Name(), nil); err != nil {
				t.Fatal(err)
			}
			if readFile(p.r, "db/password") != "two" || readFile(p.r, "other/file") != "new" {
				t.Fatal("honest pull after a bad pack did not apply")
			}
		})
	}
}

// TestCloneOfIncompletePackLeavesNothing: a clone whose pack lacks a blob
// fails and leaves no replica behind.
func TestCloneOfIncompletePackLeavesNothing(t *testing.T) {
	a, b := newSys(t), newSysEvery(t, time.Hour)
	a.meet(t, b)
	v, _ := a.Vaults.Create("prod")
	writeFile(t, v, "db/password", "one")
	a.ACL.SetVault(v.ID().String(), b.Keyring.NodeID(), []gestalt.Action{gestalt.Clone, gestalt.Pull})
	a.Node.Handle("vaults.fetch", evilFetch{v: v, drop: is(vaultstore.BlobObject)}.handler(t))
	_, _, err := b.Clone(ctx(t), a.Keyring.NodeID(), "prod", nil)
	if !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), "objects are missing") {
		t.Fatalf("clone: %v", err)
	}
	if vs, _ := b.Vaults.List(); len(vs) != 0 {
		t.Fatalf("a failed clone left %+v", vs)
	}
	if _, err := b.Vaults.VaultByID(v.ID()); !errors.Is(err, vaultstore.ErrVaultNotFound) {
		t.Fatalf("a failed clone left the vault ID: %v", err)
	}
}

// TestPullOfDivergedHistoryRefused: a node holds the vault (same ID) with
// a history that does not contain the replica's head. Pulling from it is
// refused as a conflict, with a clear error, and changes nothing.
func TestPullOfDivergedHistoryRefused(t *testing.T) {
	a, b, c := newSys(t), newSysEvery(t, time.Hour), newSys(t)
	a.meet(t, b)
	c.meet(t, b)
	v, _ := a.Vaults.Create("prod")
	writeFile(t, v, "db/password", "one")
	a.ACL.SetVault(v.ID().String(), b.Keyring.NodeID(), []gestalt.Action{gestalt.Clone, gestalt.Pull})
	r, _, err := b.Clone(ctx(t), a.Keyring.NodeID(), "prod", nil)
	if err != nil {
		t.Fatal(err)
	}
	// c has the same vault ID with a history of its own
	w, err := c.Vaults.CreateReplica(v.ID(), "prod", a.Keyring.NodeID())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Vaults.SetOrigin(w, ""); err != nil {
		t.Fatal(err)
	}
	writeFile(t, w, "db/password", "forked")
	c.ACL.SetVault(v.ID().String(), b.Keyring.NodeID(), []gestalt.Action{gestalt.Clone, gestalt.Pull})
	before := r.Head()
	cid := c.Keyring.NodeID()
	_, err = b.Pull(ctx(t), r.Name(), &cid)
	t.Logf("pull: %v", err)
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "does not contain this replica's head") {
		t.Fatalf("pull of a diverged history: %v", err)
	}
	if r.Head() != before || readFile(r, "db/password") != "one" {
		t.Fatal("the replica moved")
	}
}
