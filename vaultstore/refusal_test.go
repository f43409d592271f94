package vaultstore

import (
	"errors"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/pkfs/pkfs/internal/kvstore"
)

// craft stores c in v as a peer's pack would, and returns its hash.
func craft(t testing.TB, v *Vault, c *commitObj) Hash {
	t.Helper()
	return storeRaw(t, v, plumbing.CommitObject, c.encode())
}

// signWith signs c (author and committer become the signer's node unless
// author is given) with the key of s.
func signWith(t testing.TB, s Signer, c *commitObj, author string) *commitObj {
	t.Helper()
	if author == "" {
		author = s.NodeID().String()
	}
	c.author, c.committer = author, author
	sig, err := s.Sign(append([]byte(commitSigContext), c.signedBytes()...))
	if err != nil {
		t.Fatal(err)
	}
	c.sig = sig
	return c
}

// expectRefused integrates head into v and checks that it is refused for
// reason, logged, and that v's head did not move.
func expectRefused(t *testing.T, v *Vault, head Hash, reason error) {
	t.Helper()
	log := refusals(v.s)
	before := v.Head()
	_, err := v.Integrate(head, false)
	if !isRefused(err, reason) {
		t.Fatalf("integrate: %v, want a refusal for %v", err, reason)
	}
	if len(*log) != 1 || !errors.Is((*log)[0], ErrRefused) {
		t.Fatalf("refusals published: %v", *log)
	}
	if v.Head() != before {
		t.Fatal("the head moved")
	}
	var r *RefusedError
	errors.As(err, &r)
	if r.Commit.IsZero() {
		t.Fatal("the refusal names no commit")
	}
}

// child returns an unsigned commit on top of v's head with a new file.
func child(t testing.TB, v *Vault, grants int64) *commitObj {
	t.Helper()
	blob := storeRaw(t, v, plumbing.BlobObject, []byte("smuggled"))
	tree := storeRaw(t, v, plumbing.TreeObject, encodeTree([]treeEntry{{name: "x", mode: 0o100644, hash: blob.git()}}))
	return &commitObj{tree: tree.git(), parents: []plumbing.Hash{v.headCommit()}, authorAt: 1, committerAt: 1,
		grants: grants, message: "x added"}
}

// A revoked writer's commits are refused by every holder unless the
// revocation's frontier holds them; the writer itself becomes read-only.
func TestRefuseRevokedWriter(t *testing.T) {
	vs := writers(t, 3)
	owner, bob, carol := vs[0], vs[1], vs[2]
	write(t, bob, "before", "1")
	mustPull(t, bob, owner) // in the owner's head: the frontier keeps it
	if err := owner.Revoke(bob.s.nodeID, ActionWrite); err != nil {
		t.Fatal(err)
	}
	write(t, bob, "after", "2") // bob has not heard yet
	mustPull(t, owner, carol)   // carol gets the revocation
	movePack(t, bob, owner)
	expectRefused(t, owner, bob.Head(), ErrAfterRevoke)
	movePack(t, bob, carol)
	expectRefused(t, carol, bob.Head(), ErrAfterRevoke)
	if _, err := pull(t, owner, bob); err != nil { // bob learns of it
		t.Fatal(err)
	}
	if !bob.ReadOnly() {
		t.Fatal("a revoked writer can still write")
	}
	if _, err := bob.Update(CommitOptions{}, put("x", "y")); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("commit after revocation: %v", err)
	}
	if got := dump(t, owner); got["before"] != "1" || got["after"] != "" {
		t.Fatalf("owner's tree %v", got)
	}
}

// A commit whose signature is by another key than its author's (someone
// re-signed a writer's commit, or forged a writer as author) is refused,
// as is one whose committer is not its author.
func TestRefuseForgedSignatures(t *testing.T) {
	vs := writers(t, 2)
	owner, bob := vs[0], vs[1]
	mallory := TestOnlySigner()
	view, _ := owner.mw.grants.snapshot()
	seq := int64(view.len())
	bobID := bob.s.nodeID.String()

	resigned := signWith(t, mallory, child(t, owner, seq), bobID)
	expectRefused(t, owner, craft(t, owner, resigned), ErrBadSignature)

	forged := signWith(t, mallory, child(t, owner, seq), owner.s.nodeID.String())
	expectRefused(t, owner, craft(t, owner, forged), ErrBadSignature)

	committer := signWith(t, bob.s.signer, child(t, owner, seq), "")
	committer.committer = owner.s.nodeID.String()
	expectRefused(t, owner, craft(t, owner, committer), ErrBadSignature)

	tampered := signWith(t, bob.s.signer, child(t, owner, seq), "")
	tampered.message = "innocent"
	expectRefused(t, owner, craft(t, owner, tampered), ErrBadSignature)
}

// A well-signed commit by a node without a write grant (a reader, or a
// stranger) is refused; so is one signed under grants entries the holder
// does not have yet (it can fetch them and retry), and an unsigned one.
func TestRefuseWithoutWrite(t *testing.T) {
	owner := newTestVault(t)
	rs, _, _ := newTestStore(t)
	if err := owner.Grant(rs.NodeID(), ActionClone, ActionPull); err != nil {
		t.Fatal(err)
	}
	reader := cloneTo(t, owner, rs)
	if !reader.ReadOnly() {
		t.Fatal("a reader may write")
	}
	if _, err := reader.Update(CommitOptions{}, put("x", "y")); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("a reader's commit: %v", err)
	}
	view, _ := owner.mw.grants.snapshot()
	seq := int64(view.len())
	expectRefused(t, owner, craft(t, owner, signWith(t, rs.signer, child(t, owner, seq), "")), ErrNotWriter)
	expectRefused(t, owner, craft(t, owner, signWith(t, TestOnlySigner(), child(t, owner, seq), "")), ErrNotWriter)
	expectRefused(t, owner, craft(t, owner, signWith(t, owner.s.signer, child(t, owner, seq+1), "")), ErrGrantsBehind)
	unsigned := child(t, owner, -1)
	unsigned.author, unsigned.committer = owner.s.nodeID.String(), owner.s.nodeID.String()
	expectRefused(t, owner, craft(t, owner, unsigned), ErrUnsigned)
}

// A merge commit is accepted only if it recomputes byte for byte: one with
// another tree (tampered), another message, time or author, parents out of
// order, a signature, or no divergence, is refused.
func TestRefuseMergesThatDoNotRecompute(t *testing.T) {
	vs := writers(t, 2)
	a, b := vs[0], vs[1]
	write(t, a, "x", "A")
	write(t, b, "x", "B")
	movePack(t, b, a)
	good, err := a.mergeCommits(a.headCommit(), b.headCommit(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var bt kvstore.Batch // its trees, as a peer's pack would bring them
	if err := good.addTo(a, &bt); err != nil || a.s.db.Write(&bt, false) != nil {
		t.Fatal(err)
	}
	smuggled := child(t, a, -1).tree
	variants := map[string]func(c *commitObj){
		"tampered tree":     func(c *commitObj) { c.tree = smuggled },
		"message":           func(c *commitObj) { c.message += " (and more)" },
		"time":              func(c *commitObj) { c.committerAt++ },
		"author":            func(c *commitObj) { c.author = TestOnlySigner().NodeID().String() },
		"parents reversed":  func(c *commitObj) { c.parents[0], c.parents[1] = c.parents[1], c.parents[0] },
		"signed":            func(c *commitObj) { signWith(t, a.s.signer, c, c.author); c.grants = 2 },
		"no divergence":     func(c *commitObj) { c.parents[1] = c.parents[0] },
		"a parent contains": func(c *commitObj) { c.parents[0] = a.headCommit(); c.parents[1] = mustParent(t, a) },
	}
	for name, change := range variants {
		t.Run(name, func(t *testing.T) {
			c := *good.commit
			c.parents = append([]plumbing.Hash(nil), good.commit.parents...)
			change(&c)
			if c.hash() == good.hash {
				t.Fatal("the variation changed nothing")
			}
			expectRefused(t, a, craft(t, a, &c), ErrBadMerge)
		})
	}
	if r := mustPull(t, b, a); r.Outcome != Merged || r.Head != Hash(good.hash) {
		t.Fatalf("the real merge: %+v", r)
	}
}

func mustParent(t testing.TB, v *Vault) plumbing.Hash {
	c, err := v.readCommit(v.headCommit())
	if err != nil || len(c.parents) == 0 {
		t.Fatal("no parent")
	}
	return c.parents[0]
}

// Objects a peer announced but did not send are not a refusal: the head
// stays and the error says what is missing.
func TestIntegrateIncomplete(t *testing.T) {
	vs := writers(t, 2)
	write(t, vs[1], "x", "1")
	if _, err := vs[0].Integrate(vs[1].Head(), false); !errors.Is(err, ErrIncomplete) {
		t.Fatalf("integrate without objects: %v", err)
	}
	// the commit and its tree, not the blob
	c, _ := vs[1].readCommit(vs[1].headCommit())
	storeRaw(t, vs[0], plumbing.CommitObject, rawObject(t, vs[1], vs[1].Head()))
	storeRaw(t, vs[0], plumbing.TreeObject, rawObject(t, vs[1], Hash(c.tree)))
	if _, err := vs[0].Integrate(vs[1].Head(), false); !errors.Is(err, ErrIncomplete) {
		t.Fatalf("integrate without the blob: %v", err)
	}
	if vs[0].Head() == vs[1].Head() {
		t.Fatal("the head moved")
	}
}

// A commit that is not in the one form pkfs writes is refused, naming it.
func TestRefuseMalformedCommit(t *testing.T) {
	v := newTestVault(t)
	raw := []byte("tree " + emptyTreeHash.String() + "\nparent " + v.Head().String() +
		"\nauthor Mallory <m@x> 1 +0100\ncommitter Mallory <m@x> 1 +0100\n\nhi\n")
	h := storeRaw(t, v, plumbing.CommitObject, raw)
	expectRefused(t, v, h, ErrBadCommit)
}

// A holder that accepted a writer's commit before the writer's revocation
// reached it has its history refused by holders that know the revocation,
// until the owner admits that commit with a wider frontier.
func TestRevokedWriterStrayCommitAdmitted(t *testing.T) {
	vs := writers(t, 3)
	owner, bob, carol := vs[0], vs[1], vs[2]
	write(t, bob, "b1", "stray")
	mustPull(t, bob, carol) // carol accepts b1: no revocation yet
	if err := owner.Revoke(bob.s.nodeID, ActionWrite); err != nil {
		t.Fatal(err)
	}
	write(t, carol, "c1", "carol")
	mustPull(t, owner, carol) // carol learns of it, merges the owner's head
	movePack(t, carol, owner)
	expectRefused(t, owner, carol.Head(), ErrAfterRevoke)
	if err := owner.ExtendFrontier(bob.s.nodeID, carol.Head()); err != nil {
		t.Fatal(err)
	}
	if r := mustPull(t, carol, owner); r.Outcome != FastForward {
		t.Fatalf("after the wider frontier: %+v", r)
	}
	mustPull(t, owner, carol)
	write(t, bob, "b2", "late") // still refused: outside every frontier
	movePack(t, bob, owner)
	expectRefused(t, owner, bob.Head(), ErrAfterRevoke)
}
