package node

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pkfs/pkfs/keyring"
)

var fast = keyring.Params{Ops: 1, MemKiB: keyring.MinMemKiB, Parallelism: 1}

func initNode(t *testing.T, p string) InitResult {
	t.Helper()
	n, res, err := Init(p, InitOptions{Password: []byte("pw"), Params: fast})
	if err != nil {
		t.Fatal(err)
	}
	n.Close()
	return res
}

func TestInitOpenAndLock(t *testing.T) {
	p := filepath.Join(t.TempDir(), "node")
	res := initNode(t, p)
	n, err := Open(p, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	if n.Keyring.NodeID() != res.NodeID {
		t.Fatal("other node ID")
	}
	_, err = Open(p, []byte("pw"))
	var inUse *InUseError
	if !errors.As(err, &inUse) || !strings.Contains(err.Error(), "pid ") {
		t.Fatalf("second open: %v", err)
	}
	if err := CheckOpenable(p); !errors.Is(err, ErrInUse) {
		t.Fatalf("CheckOpenable while open: %v", err)
	}
	n.Close()
	if err := CheckOpenable(p); err != nil {
		t.Fatalf("after close: %v", err)
	}
	if _, err := Open(p, []byte("bad")); !errors.Is(err, keyring.ErrWrongPassword) {
		t.Fatalf("wrong password: %v", err)
	}
}

func TestInitRefusesExistingWithoutFresh(t *testing.T) {
	p := t.TempDir()
	res := initNode(t, p)
	keyBefore, _ := os.ReadFile(filepath.Join(KeysDir(p), keyring.PrivateKeyFile))
	if _, _, err := Init(p, InitOptions{Password: []byte("x"), Params: fast}); !errors.Is(err, ErrNodeExists) {
		t.Fatalf("init over a node: %v", err)
	}
	keyAfter, _ := os.ReadFile(filepath.Join(KeysDir(p), keyring.PrivateKeyFile))
	if string(keyBefore) != string(keyAfter) {
		t.Fatal("refused init changed the key")
	}
	os.WriteFile(filepath.Join(p, "unrelated.txt"), []byte("keep me"), 0o600)
	n, res2, err := Init(p, InitOptions{Password: []byte("x"), Params: fast, Fresh: true})
	if err != nil {
		t.Fatal(err)
	}
	n.Close()
	if res2.NodeID == res.NodeID {
		t.Fatal("--fresh kept the node ID")
	}
	if _, err := os.Stat(filepath.Join(p, "unrelated.txt")); err != nil {
		t.Fatal("--fresh removed an unrelated file")
	}
}

func TestRestoreKeepsData(t *testing.T) {
	p := t.TempDir()
	n, res, err := Init(p, InitOptions{Password: []byte("pw"), Params: fast})
	if err != nil {
		t.Fatal(err)
	}
	n.DB.Bucket("b").Put([]byte("k"), []byte("v"), true)
	n.Close()
	n2, res2, err := Init(p, InitOptions{Password: []byte("new"), Params: fast, RecoveryCode: res.RecoveryCode})
	if err != nil {
		t.Fatal(err)
	}
	defer n2.Close()
	if !res2.Restored || res2.NodeID != res.NodeID {
		t.Fatal("restore did not keep the node")
	}
	if v, err := n2.DB.Bucket("b").Get([]byte("k")); err != nil || string(v) != "v" {
		t.Fatalf("data lost: %v", err)
	}
	// Restore into an empty path: same node ID.
	q := t.TempDir()
	n3, res3, err := Init(q, InitOptions{Password: []byte("z"), Params: fast, RecoveryCode: res.RecoveryCode})
	if err != nil {
		t.Fatal(err)
	}
	n3.Close()
	if res3.NodeID != res.NodeID || res3.RecoveryCode != "" {
		t.Fatal("restore in an empty path")
	}
	// An invalid code changes nothing, even with --fresh.
	if _, _, err := Init(q, InitOptions{Password: []byte("z"), Params: fast, RecoveryCode: "abandon", Fresh: true}); !errors.Is(err, keyring.ErrInvalidRecoveryCode) {
		t.Fatalf("invalid code: %v", err)
	}
	if id, _ := keyring.ReadNodeID(KeysDir(q)); id != res.NodeID {
		t.Fatal("invalid code changed the node")
	}
}

func TestVersionChecks(t *testing.T) {
	p := t.TempDir()
	if _, err := Open(p, []byte("pw")); !errors.Is(err, ErrNoNode) {
		t.Fatalf("empty path: %v", err)
	}
	initNode(t, p)
	for content, want := range map[string]string{"2\n": "newer", "0\n": "unknown", "banana": "not a number"} {
		os.WriteFile(versionPath(p), []byte(content), 0o644)
		_, err := Open(p, []byte("pw"))
		if !errors.Is(err, ErrUnsupportedVersion) || !strings.Contains(err.Error(), want) {
			t.Errorf("VERSION %q: %v", content, err)
		}
	}
	os.Remove(versionPath(p))
	if _, err := Open(p, []byte("pw")); !errors.Is(err, ErrIncomplete) {
		t.Fatalf("missing VERSION: %v", err)
	}
}
