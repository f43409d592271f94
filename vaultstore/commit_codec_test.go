package vaultstore

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Every commit of a vault (signed ones, the initial commit, merges) is one
// that git reads: fsck --strict accepts the exported repository, cat-file
// shows our headers, and git's log walks our history.
func TestCommitsReadByGit(t *testing.T) {
	vs := writers(t, 2)
	a, b := vs[0], vs[1]
	write(t, a, "db/password", "a1")
	write(t, b, "db/password", "b1")
	write(t, b, "web/tls.key", "k")
	if r := mustPull(t, b, a); r.Outcome != Merged {
		t.Fatalf("outcome %v", r.Outcome)
	}
	repo := exportToGit(t, a, t.TempDir())
	gitRun(t, repo, "fsck", "--strict", "--no-dangling")
	head := gitRun(t, repo, "cat-file", "-p", "HEAD")
	if !strings.HasPrefix(head, "tree ") || !strings.Contains(head, "\nMerge ") || strings.Contains(head, "gpgsig") {
		t.Fatalf("merge commit as git shows it:\n%s", head)
	}
	first := strings.TrimSpace(gitRun(t, repo, "rev-parse", "HEAD^2"))
	signed := gitRun(t, repo, "cat-file", "-p", first)
	for _, want := range []string{"\npkfs-grants ", "\ngpgsig " + sigBegin + "\n", "\n " + sigEnd + "\n\n"} {
		if !strings.Contains(signed, want) {
			t.Fatalf("signed commit lacks %q:\n%s", want, signed)
		}
	}
	n := strings.Count(gitRun(t, repo, "log", "--format=%H", "HEAD"), "\n")
	if want := countCommits(t, a); n != want {
		t.Fatalf("git log shows %d commits, the vault has %d", n, want)
	}
}

func countCommits(t testing.TB, v *Vault) int {
	t.Helper()
	all, err := v.ancestry(v.headCommit())
	if err != nil {
		t.Fatal(err)
	}
	return len(all)
}

// A signed commit verifies against its author; any changed byte, or
// another author, does not.
func TestCommitSignature(t *testing.T) {
	v := newTestVault(t)
	h, _ := v.Update(CommitOptions{}, func(tx *Tx) error { return tx.WriteSmall("k", []byte("v"), false, false) })
	c, err := v.readCommit(h.git())
	if err != nil {
		t.Fatal(err)
	}
	if !c.signed() || c.author != v.s.nodeID.String() || c.grants != 1 {
		t.Fatalf("commit %+v", c)
	}
	if err := c.checkSignature(); err != nil {
		t.Fatal(err)
	}
	other := *c
	other.message = "k changed"
	if other.checkSignature() == nil {
		t.Fatal("a changed message still verifies")
	}
	other = *c
	other.author, other.committer = TestOnlySigner().NodeID().String(), TestOnlySigner().NodeID().String()
	if other.checkSignature() == nil {
		t.Fatal("another author still verifies")
	}
}

// Commits written by go-git's encoder before signatures (the same form
// without the two headers) decode and encode back to the same bytes.
func TestCommitCodecReadsOldCommits(t *testing.T) {
	id := TestOnlySigner().NodeID().String()
	sig := object.Signature{Name: id, When: time.Unix(1700000000, 0).UTC()}
	for _, parents := range [][]plumbing.Hash{nil, {plumbing.NewHash("1111111111111111111111111111111111111111")}} {
		old := &object.Commit{Author: sig, Committer: sig, Message: "db/password modified\nweb/x added", TreeHash: emptyTreeHash, ParentHashes: parents}
		raw := encodeGoGit(t, old)
		c, err := decodeCommit(raw)
		if err != nil {
			t.Fatalf("%v\n%s", err, raw)
		}
		if c.signed() || c.grants != -1 || len(c.parents) != len(parents) || c.author != id || c.authorAt != 1700000000 {
			t.Fatalf("decoded %+v", c)
		}
	}
}

func encodeGoGit(t testing.TB, c *object.Commit) []byte {
	t.Helper()
	mo := &plumbing.MemoryObject{}
	if err := c.Encode(mo); err != nil {
		t.Fatal(err)
	}
	r, _ := mo.Reader()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The decoder refuses every variation of the form, so that no two byte
// strings decode to one commit.
func TestCommitCodecStrict(t *testing.T) {
	v := newTestVault(t)
	h, _ := v.Update(CommitOptions{}, func(tx *Tx) error { return tx.WriteSmall("k", []byte("v"), false, false) })
	good := string(rawObject(t, v, h))
	if _, err := decodeCommit([]byte(good)); err != nil {
		t.Fatal(err)
	}
	id := v.s.nodeID.String()
	bad := map[string]string{
		"upper-case tree":      strings.Replace(good, good[5:45], strings.ToUpper(good[5:45]), 1),
		"time zone":            strings.Replace(good, " +0000\n", " +0100\n", 1),
		"leading zero":         strings.Replace(good, "> ", "> 0", 1),
		"email":                strings.Replace(good, " <> ", " <a@b> ", 1),
		"author not a node":    strings.Replace(good, id, "alice", 1),
		"grants leading zero":  strings.Replace(good, "pkfs-grants 1", "pkfs-grants 01", 1),
		"grants without sig":   good[:strings.Index(good, "gpgsig")] + good[strings.Index(good, sigEnd)+len(sigEnd)+1:],
		"sig without grants":   strings.Replace(good, "pkfs-grants 1\n", "", 1),
		"unknown header":       strings.Replace(good, "pkfs-grants", "encoding latin1\npkfs-grants", 1),
		"signature line":       strings.Replace(good, "\n -----END", "\n\n -----END", 1),
		"no blank line":        strings.Replace(good, sigEnd+"\n\n", sigEnd+"\n", 1),
		"three parents":        strings.Replace(good, "author ", "parent "+strings.Repeat("1", 40)+"\nparent "+strings.Repeat("2", 40)+"\nparent "+strings.Repeat("3", 40)+"\nauthor ", 1),
		"signature not base64": strings.Replace(good, "\n "+good[strings.Index(good, sigBegin)+len(sigBegin)+2:strings.Index(good, sigBegin)+len(sigBegin)+4], "\n !!", 1),
	}
	for name, b := range bad {
		if b == good {
			t.Fatalf("%s: the variation changed nothing", name)
		}
		if _, err := decodeCommit([]byte(b)); !errors.Is(err, ErrBadCommit) {
			t.Errorf("%s: decoded (%v)", name, err)
		}
	}
}

// Whatever the decoder accepts encodes back to the same bytes.
func FuzzDecodeCommit(f *testing.F) {
	v := newTestVault(f)
	h, _ := v.Update(CommitOptions{}, func(tx *Tx) error { return tx.WriteSmall("k", []byte("v"), false, false) })
	f.Add(rawObject(f, v, h))
	f.Add(rawObject(f, v, v.Head()))
	id := v.s.nodeID.String()
	f.Add([]byte("tree " + emptyTreeHash.String() + "\nparent " + h.String() + "\nparent " + strings.Repeat("a", 40) +
		"\nauthor " + id + " <> 1 +0000\ncommitter " + id + " <> 1 +0000\n\nMerge x into y"))
	sig := object.Signature{Name: id, When: time.Unix(5, 0).UTC()}
	f.Add(encodeGoGit(f, &object.Commit{Author: sig, Committer: sig, TreeHash: emptyTreeHash}))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decodeCommit(b)
		if err != nil {
			return
		}
		if !bytes.Equal(c.encode(), b) {
			t.Fatalf("decode/encode changed the bytes:\n%q\n%q", b, c.encode())
		}
		if c2, err := decodeCommit(c.encode()); err != nil || !bytes.Equal(c2.encode(), b) {
			t.Fatal("the encoding does not decode")
		}
	})
}
