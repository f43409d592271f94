package vaultstore

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/pkfs/pkfs/internal/kvstore"
)

// pull moves what from has and to lacks (grants entries, then objects) and
// integrates from's head into to, as a replication round does.
func pull(t testing.TB, from, to *Vault) (IntegrateResult, error) {
	t.Helper()
	n, err := to.GrantsLen()
	if err != nil {
		t.Fatal(err)
	}
	es, err := from.GrantsSince(n)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := to.AppendGrants(es); err != nil {
		return IntegrateResult{}, err
	}
	movePack(t, from, to)
	return to.Integrate(from.Head(), false)
}

// movePack copies the objects of from's history that to lacks. (Which
// objects a peer lacks is negotiated by replication; here the test asks
// the receiving store, so that diverged histories do not resend all.)
func movePack(t testing.TB, from, to *Vault) {
	t.Helper()
	all, err := from.MissingObjects(to.Head())
	if err != nil {
		t.Fatal(err)
	}
	var objs []Hash
	for _, h := range all {
		if ok, err := to.objs.has(h.git()); err != nil {
			t.Fatal(err)
		} else if !ok {
			objs = append(objs, h)
		}
	}
	var buf bytes.Buffer
	if err := from.ExportPack(&buf, objs); err != nil {
		t.Fatal(err)
	}
	if buf.Len() > 0 {
		if _, err := to.ImportPack(&buf, DefaultPackLimits()); err != nil {
			t.Fatal(err)
		}
	}
}

func mustPull(t testing.TB, from, to *Vault) IntegrateResult {
	t.Helper()
	r, err := pull(t, from, to)
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	return r
}

// cloneTo makes a replica of v in store s and fills it from v.
func cloneTo(t testing.TB, v *Vault, s *Store) *Vault {
	t.Helper()
	owner, err := v.Owner()
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.CreateReplica(v.ID(), v.Name(), owner)
	if err != nil {
		t.Fatal(err)
	}
	mustPull(t, v, r)
	if r.Head() != v.Head() {
		t.Fatalf("clone head %s, origin %s", r.Head(), v.Head())
	}
	return r
}

// writers makes a vault owned by a new store and n-1 replicas in stores
// of their own, each with a write grant.
func writers(t testing.TB, n int) []*Vault {
	t.Helper()
	owner := newTestVault(t)
	vs := []*Vault{owner}
	for i := 1; i < n; i++ {
		s, _, _ := newTestStore(t)
		if err := owner.Grant(s.NodeID(), ActionClone, ActionPull, ActionWrite); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, cloneTo(t, owner, s))
	}
	for _, v := range vs[1:] {
		mustPull(t, owner, v) // the later grants
		if v.ReadOnly() {
			t.Fatal("a writer is read-only")
		}
	}
	return vs
}

// refusals records the refusals a store publishes.
func refusals(s *Store) *[]error {
	var out []error
	s.Subscribe(func(e Event) {
		if e.Kind == EventRefused {
			out = append(out, e.Err)
		}
	})
	return &out
}

// exportToGit writes every object of v's history into a new bare git
// repository, with main at v's head, using the git binary.
func exportToGit(t testing.TB, v *Vault, dir string) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git binary")
	}
	repo := filepath.Join(dir, "repo.git")
	gitRun(t, "", "init", "-q", "--bare", repo)
	objs, err := v.MissingObjects(ZeroHash)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := v.ExportPack(&buf, objs); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("git", "-C", repo, "index-pack", "--stdin")
	cmd.Stdin = &buf
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git index-pack: %v\n%s", err, out)
	}
	gitRun(t, repo, "update-ref", "refs/heads/main", v.Head().String())
	gitRun(t, repo, "symbolic-ref", "HEAD", "refs/heads/main")
	return repo
}

func gitRun(t testing.TB, repo string, args ...string) string {
	t.Helper()
	if repo != "" {
		args = append([]string{"-C", repo}, args...)
	}
	cmd := exec.Command("git", args...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+os.TempDir(), "GIT_AUTHOR_NAME=t",
		"GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// rawObject returns the stored bytes of an object.
func rawObject(t testing.TB, v *Vault, h Hash) []byte {
	t.Helper()
	_, b, err := v.objs.readAll(h.git())
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Clone(b)
}

// storeRaw stores an object as a peer's pack would, and returns its hash.
func storeRaw(t testing.TB, v *Vault, typ plumbing.ObjectType, content []byte) Hash {
	t.Helper()
	p, err := v.objs.inlineObject(typ, content)
	if err != nil {
		t.Fatal(err)
	}
	var bt kvstore.Batch
	p.addTo(v.objs, &bt)
	if err := v.s.db.Write(&bt, false); err != nil {
		t.Fatal(err)
	}
	return Hash(p.hash)
}

func isRefused(err error, reason error) bool {
	var r *RefusedError
	return errors.As(err, &r) && errors.Is(err, ErrRefused) && (reason == nil || errors.Is(err, reason))
}
