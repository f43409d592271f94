package vaultstore

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/pkfs/pkfs/internal/cryptocore"
	"github.com/pkfs/pkfs/internal/kvstore"
)

// mergeBench is two writers of a 10,000-file vault whose histories
// diverged by 100 one-file commits each (different files, so that git
// merges them without conflicts too).
type mergeBench struct {
	a, b         *Vault
	bHead, aHead plumbing.Hash
}

func newMergeBench(b *testing.B) *mergeBench {
	const files, commits = 10_000, 100
	vs := writers(b, 2)
	a, w := vs[0], vs[1]
	update(b, a, func(tx *Tx) error {
		for i := range files {
			if err := tx.WriteSmall(benchPath(i), cryptocore.RandomBytes(64), false, true); err != nil {
				return err
			}
		}
		return nil
	})
	mustPull(b, a, w)
	for i := range commits {
		write(b, a, benchPath((i*7919)%files), fmt.Sprint("a", i))
		write(b, w, benchPath((i*7919+5003)%files), fmt.Sprint("b", i))
	}
	movePack(b, a, w)
	return &mergeBench{a: a, b: w, aHead: a.headCommit(), bHead: w.headCommit()}
}

// resetHead puts v's head back (not timed), so that each round merges the
// same two heads.
func resetHead(b *testing.B, v *Vault, to plumbing.Hash) {
	v.wmu.Lock()
	defer v.wmu.Unlock()
	c, err := v.readCommit(to)
	if err != nil {
		b.Fatal(err)
	}
	var bt kvstore.Batch
	if _, err := v.moveHead(&bt, v.head.Load(), to, c.tree, time.Now(), false, false, nil, nil); err != nil {
		b.Fatal(err)
	}
}

// Merging two 100-commit branches of a 10,000-file vault: Integrate
// verifies the 100 new commits (signatures, grants), finds the base,
// merges the trees and writes the merge (target ≤ 50 ms, and ≤ 2× git
// merge of the same branches on tmpfs). warm: the vault's caches hold
// its own history; cold-store: the vault store freshly reopened. The
// git baselines run the git binary on a bare export of the same objects
// in /dev/shm: git merge in a worktree, and git merge-tree (no worktree).
func BenchmarkMerge(b *testing.B) {
	mb := newMergeBench(b)
	integrate := func(b *testing.B, v *Vault) {
		r, err := v.Integrate(Hash(mb.aHead), false)
		if err != nil || r.Outcome != Merged || r.Commits != 100 {
			b.Fatalf("%+v %v", r, err)
		}
	}
	b.Run("pkfs", func(b *testing.B) {
		cpu := cpuTime()
		for b.Loop() {
			b.StopTimer()
			resetHead(b, mb.b, mb.bHead)
			b.StartTimer()
			integrate(b, mb.b)
		}
		reportCPU(b, cpu)
	})
	b.Run("pkfs-cold-store", func(b *testing.B) {
		s := mb.b.s
		for b.Loop() {
			b.StopTimer()
			resetHead(b, mb.b, mb.bHead)
			s.Close()
			ns, err := Open(s.db, s.signer)
			if err != nil {
				b.Fatal(err)
			}
			s = ns
			if mb.b, err = s.VaultByID(mb.b.id); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			integrate(b, mb.b)
		}
	})
	repo, work := gitMergeRepos(b, mb)
	b.Run("git-merge", func(b *testing.B) {
		cpu := cpuTime()
		for b.Loop() {
			b.StopTimer()
			gitRun(b, work, "reset", "-q", "--hard", mb.bHead.String())
			b.StartTimer()
			gitRun(b, work, "merge", "-q", "--no-edit", "--no-ff", mb.aHead.String())
		}
		reportCPU(b, cpu)
	})
	b.Run("git-merge-tree", func(b *testing.B) {
		for b.Loop() {
			gitRun(b, repo, "merge-tree", "--write-tree", mb.bHead.String(), mb.aHead.String())
		}
	})
}

// gitMergeRepos exports B's objects (both branches) to a bare repository
// on tmpfs, and clones it into a worktree there.
func gitMergeRepos(b *testing.B, mb *mergeBench) (repo, work string) {
	if _, err := exec.LookPath("git"); err != nil {
		b.Skip("no git binary")
	}
	dir, err := os.MkdirTemp("/dev/shm", "pkfs-mergebench-")
	if err != nil {
		b.Skip("no tmpfs at /dev/shm")
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	repo = exportToGit(b, mb.b, dir) // main: B's head
	objs, err := mb.a.MissingObjects(Hash(mb.bHead))
	if err != nil {
		b.Fatal(err)
	}
	buf := new(bytes.Buffer)
	if err := mb.a.ExportPack(buf, objs); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command("git", "-C", repo, "index-pack", "--stdin")
	cmd.Stdin = buf
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("git index-pack: %v\n%s", err, out)
	}
	gitRun(b, repo, "update-ref", "refs/heads/other", mb.aHead.String())
	work = filepath.Join(dir, "work")
	gitRun(b, "", "clone", "-q", repo, work)
	return repo, work
}
