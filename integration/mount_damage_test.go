package integration

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	internalnode "github.com/pkfs/pkfs/internal/node"
	"github.com/pkfs/pkfs/vaultstore"
)

// damageObject flips a byte of the stored object of a file at the HEAD of
// a vault (its meta entry for chunk < 0, else that chunk), in this process,
// while no agent runs.
func (n *mountNode) damageObject(vault, path string, chunk int) {
	n.t.Helper()
	t := n.t
	nd, err := internalnode.Open(n.nodePath, []byte("pw"))
	noErr(t, err)
	defer nd.Close()
	s, err := vaultstore.Open(nd.DB, nd.Keyring)
	noErr(t, err)
	defer s.Close()
	v, err := s.Vault(vault)
	noErr(t, err)
	snap, err := v.Snapshot("")
	noErr(t, err)
	e, err := snap.Stat(path)
	noErr(t, err)
	b, k, err := v.TestOnlyObjectKey(e.Hash, chunk)
	noErr(t, err)
	noErr(t, nd.DB.TestOnlyTamper(b, k, func(c []byte) []byte {
		c = bytes.Clone(c)
		c[len(c)/2] ^= 0x01
		return c
	}))
}

// A corrupted object read through the mount gives EIO, never wrong bytes,
// and the agent keeps serving everything else: the other files of the
// vault, other vaults, new writes, the CLI. The log says what failed
// without naming the file.
func TestMountDamagedObject(t *testing.T) {
	t.Parallel()
	n := newMountNode(t)
	mnt := n.mkdir()
	st := n.mount(mnt)
	v, w := filepath.Join(mnt, "v"), filepath.Join(mnt, "w")
	noErr(t, os.MkdirAll(filepath.Join(v, "dir"), 0o700))
	noErr(t, os.Mkdir(w, 0o700))
	const name = "damaged-secret-name"
	damaged := filepath.Join(v, name)
	noErr(t, os.WriteFile(damaged, []byte("the damaged secret"), 0o600))
	big := make([]byte, 3*vaultstore.ChunkSize+100)
	rand.NewChaCha8([32]byte{4}).Read(big)
	noErr(t, os.WriteFile(filepath.Join(v, "big"), big, 0o600))
	sound := map[string]string{
		filepath.Join(v, "dir", "sound"): "sound",
		filepath.Join(w, "other"):        "other vault",
	}
	for p, c := range sound {
		noErr(t, os.WriteFile(p, []byte(c), 0o600))
	}
	n.umount(mnt, st.PID)
	n.damageObject("v", name, -1)
	n.damageObject("v", "big", 1)
	st = n.mount(mnt)

	_, err := os.ReadFile(damaged)
	expectErrno(t, "read of the damaged file", err, syscall.EIO)
	r := n.run("cat", damaged)
	if r.code == 0 || r.stdout != "" || !strings.Contains(r.stderr, "Input/output error") {
		t.Errorf("cat of the damaged file: %v", r)
	}
	// its directory lists it (its size is unknown: 0), so it can be
	// removed or overwritten
	if ls := n.mustRun("ls", v); !strings.Contains(ls, name) || !strings.Contains(ls, "dir") {
		t.Errorf("ls of the directory with the damaged file: %q", ls)
	}
	if fi, err := os.Stat(damaged); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("stat of the damaged file: %v, %v", fi, err)
	}
	f, err := os.Open(filepath.Join(v, "big"))
	noErr(t, err)
	got, err := io.ReadAll(f)
	f.Close()
	expectErrno(t, "read of the big file with a damaged chunk", err, syscall.EIO)
	if len(got) >= len(big) || !bytes.Equal(got, big[:len(got)]) {
		t.Errorf("the big file read %d bytes that are not a strict prefix of its content", len(got))
	}

	// everything else is served
	checkContents(t, sound)
	noErr(t, os.WriteFile(filepath.Join(v, "new"), []byte("written after"), 0o600))
	if fileContent(t, filepath.Join(v, "new")) != "written after" {
		t.Error("a write next to the damage")
	}
	n.mustRun("ls", "-lR", mnt+"/v", mnt+"/w")
	if r := n.pkfs("secrets", "cat", "v:"+name); r.code != 8 || r.stdout != "" {
		t.Errorf("secrets cat of the damaged file: %v, want exit 8", r)
	}
	if r := n.pkfs("vaults", "verify", "v"); r.code != 8 {
		t.Errorf("vaults verify v: %v, want exit 8", r)
	}
	n.verify("w")
	if got := n.status(); got.PID != st.PID || got.Status != "LIVE" {
		t.Errorf("the agent after the damage: %+v, want pid %d", got, st.PID)
	}
	// appending needs the old content: EIO; overwriting (O_TRUNC) does
	// not, and repairs what HEAD shows; so does rm of the big file
	_, err = os.OpenFile(damaged, os.O_WRONLY|os.O_APPEND, 0)
	expectErrno(t, "open of the damaged file to append", err, syscall.EIO)
	noErr(t, os.WriteFile(damaged, []byte("repaired"), 0o600))
	if fileContent(t, damaged) != "repaired" {
		t.Error("overwrite of the damaged file")
	}
	noErr(t, os.Remove(filepath.Join(v, "big")))
	logs := n.agentLogs()
	if !strings.Contains(logs, "damaged") {
		t.Errorf("the agent's log does not report the damage:\n%s", logs)
	}
	if strings.Contains(logs, name) {
		t.Errorf("the agent's log names the file:\n%s", logs)
	}
}
