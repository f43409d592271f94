package vaultstore

import (
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pkfs/pkfs/keyring"
)

// rawPack writes packfiles by hand: any type, any declared size, any bytes.
type rawPack struct {
	body  bytes.Buffer
	count uint32
}

// add appends an object of pack type typ whose header declares size and
// whose zlib stream holds content.
func (p *rawPack) add(typ byte, size int, content []byte) *rawPack {
	p.count++
	p.body.Write(appendObjectHeader(nil, typ, int64(size)))
	zw := zlib.NewWriter(&p.body)
	zw.Write(content)
	zw.Close()
	return p
}

func (p *rawPack) obj(typ byte, content []byte) *rawPack { return p.add(typ, len(content), content) }

// raw appends bytes as they are (a delta's base, garbage).
func (p *rawPack) raw(b []byte) *rawPack { p.body.Write(b); return p }

func (p *rawPack) bytes() []byte { return p.withCount(p.count) }

func (p *rawPack) withCount(n uint32) []byte {
	b := []byte("PACK\x00\x00\x00\x02")
	b = binary.BigEndian.AppendUint32(b, n)
	b = append(b, p.body.Bytes()...)
	sum := sha1.Sum(b)
	return append(b, sum[:]...)
}

// newReplica makes an empty replica of v in a store of its own.
func newReplica(t testing.TB, v *Vault) *Vault {
	t.Helper()
	s, _, _ := newTestStore(t)
	r, err := s.CreateReplica(v.ID(), "replica", keyring.NodeID{1})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// replicate sends what r lacks of v through ExportPack and ImportPack, and
// fast-forwards r.
func replicate(t testing.TB, v, r *Vault) PackStats {
	t.Helper()
	objs, err := v.MissingObjects(r.Head())
	if err != nil {
		t.Fatal(err)
	}
	var pack bytes.Buffer
	if err := v.ExportPack(&pack, objs); err != nil {
		t.Fatal(err)
	}
	st, err := r.ImportPack(&pack, DefaultPackLimits())
	if err != nil {
		t.Fatal(err)
	}
	if st.Objects != len(objs) {
		t.Fatalf("imported %d objects of %d", st.Objects, len(objs))
	}
	if err := r.FastForward(v.Head(), false); err != nil {
		t.Fatal(err)
	}
	return st
}

// fillForPacks writes files of every kind and size class into v.
func fillForPacks(t testing.TB, v *Vault) map[string]string {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	big := make([]byte, 2*ChunkSize+123)
	for i := range big {
		big[i] = byte(rng.IntN(256))
	}
	files := map[string]string{
		"empty": "", "small": "secret", "db/password": "hunter2",
		"inline": strings.Repeat("i", InlineLimit), "over-inline": strings.Repeat("o", InlineLimit+1),
		"deep/a/b/c/d": "deep", "big": string(big),
	}
	for p, c := range files {
		write(t, v, p, c)
	}
	if _, err := v.Update(CommitOptions{}, func(tx *Tx) error {
		if err := tx.Mkdir("emptydir", false); err != nil {
			return err
		}
		if err := tx.Symlink("link", "db/password"); err != nil {
			return err
		}
		return tx.Chmod("small", true)
	}); err != nil {
		t.Fatal(err)
	}
	return files
}

// A clone and a later pull through our own pack codec carry every kind of
// object, and the replica verifies.
func TestPackRoundTrip(t *testing.T) {
	v := newTestVault(t)
	files := fillForPacks(t, v)
	r := newReplica(t, v)
	st := replicate(t, v, r)
	if st.Commits == 0 || st.Inflated < 2*ChunkSize {
		t.Fatalf("stats %+v", st)
	}
	for p, c := range files {
		if got := read(t, r, p); got != c {
			t.Fatalf("%s: %d bytes, want %d", p, len(got), len(c))
		}
	}
	write(t, v, "db/password", "changed")
	if st := replicate(t, v, r); st.Commits != 1 || st.Objects > 4 {
		t.Fatalf("a one-file pull: %+v", st)
	}
	if read(t, r, "db/password") != "changed" {
		t.Fatal("pull not applied")
	}
	if rep, err := r.Verify(); err != nil || !rep.OK() {
		t.Fatalf("replica: %v %v", err, rep.Problems)
	}
	// an empty stream is a pack of nothing; no objects write nothing
	var none bytes.Buffer
	if err := v.ExportPack(&none, nil); err != nil || none.Len() != 0 {
		t.Fatalf("empty export: %v, %d bytes", err, none.Len())
	}
	if st, err := r.ImportPack(&none, DefaultPackLimits()); err != nil || st.Objects != 0 {
		t.Fatalf("empty import: %v %+v", err, st)
	}
}

// git reads our packs: `git index-pack` accepts them and finds every
// object with its hash. And we read git's own packs (without deltas).
func TestPackIsGitPackfile(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git binary")
	}
	v := newTestVault(t)
	fillForPacks(t, v)
	objs, err := v.MissingObjects(ZeroHash)
	if err != nil {
		t.Fatal(err)
	}
	var pack bytes.Buffer
	if err := v.ExportPack(&pack, objs); err != nil {
		t.Fatal(err)
	}
	repo := t.TempDir()
	git := func(stdin []byte, args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", repo}, args...)...)
		cmd.Stdin = bytes.NewReader(stdin)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+repo)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	git(nil, "init", "-q", "--bare")
	git(pack.Bytes(), "index-pack", "--stdin", "--strict")
	for _, h := range objs {
		want, _ := v.ObjectType(h)
		if got := strings.TrimSpace(git(nil, "cat-file", "-t", h.String())); got != want.String() {
			t.Fatalf("git sees %s as %q, want %q", h, got, want)
		}
	}
	git(nil, "update-ref", "refs/heads/main", v.Head().String())
	git(nil, "fsck", "--strict", "--no-dangling")

	// and back: git packs the same objects without deltas; we import them
	list := ""
	for _, h := range objs {
		list += h.String() + "\n"
	}
	git([]byte(list), "pack-objects", "-q", "--window=0", "--depth=0", filepath.Join(repo, "out"))
	matches, _ := filepath.Glob(filepath.Join(repo, "out-*.pack"))
	if len(matches) != 1 {
		t.Fatalf("git wrote %v", matches)
	}
	theirs, err := os.ReadFile(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	r := newReplica(t, v)
	if _, err := r.ImportPack(bytes.NewReader(theirs), DefaultPackLimits()); err != nil {
		t.Fatalf("git's pack: %v", err)
	}
	if err := r.FastForward(v.Head(), false); err != nil {
		t.Fatal(err)
	}
	if rep, err := r.Verify(); err != nil || !rep.OK() {
		t.Fatalf("replica: %v %v", err, rep.Problems)
	}
}

// hugeZeros is n zero bytes, for declared sizes that a stream then holds.
func hugeZeros(n int) []byte { return make([]byte, n) }

func ourCommit(tree string) []byte {
	node := "v" + strings.Repeat("0", 52) // the text of a node ID
	return []byte(fmt.Sprintf("tree %s\nauthor %s <> 1700000000 +0000\ncommitter %s <> 1700000000 +0000\n\nmsg", tree, node, node))
}
