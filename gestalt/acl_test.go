package gestalt

import (
	"errors"
	"testing"

	"github.com/pkfs/pkfs/internal/cryptocore"
	"github.com/pkfs/pkfs/internal/kvstore"
	"github.com/pkfs/pkfs/keyring"
)

func testACL(t *testing.T) *ACL {
	db, err := kvstore.Open(t.TempDir(), cryptocore.NewRandomKey())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return NewACL(db, nil)
}

func nodeID(b byte) keyring.NodeID {
	seed := make([]byte, 32)
	seed[0] = b
	pub, _, _ := cryptocore.Ed25519FromSeed(seed)
	id, _ := keyring.NodeIDFromBytes(pub)
	return id
}

func TestGestaltActions(t *testing.T) {
	a := testACL(t)
	n := nodeID(1)
	if a.Allowed(n, Notify) {
		t.Fatal("allowed by default")
	}
	a.Allow(n, Notify)
	a.Allow(n, Scan)
	a.Allow(n, Notify)
	if ps, _ := a.Permissions(n); len(ps) != 2 || !a.Allowed(n, Notify) || a.Allowed(nodeID(2), Notify) {
		t.Fatalf("permissions %v", ps)
	}
	a.Disallow(n, Notify)
	if a.Allowed(n, Notify) || !a.Allowed(n, Scan) {
		t.Fatal("disallow")
	}
	if err := a.Allow(n, Clone); !errors.Is(err, ErrInvalidAction) {
		t.Fatal("vault action accepted as a gestalt action")
	}
	if _, err := ParseAction("nonsense", GestaltActions); !errors.Is(err, ErrInvalidAction) {
		t.Fatal("nonsense action parsed")
	}
}

func TestVaultActions(t *testing.T) {
	a := testACL(t)
	n1, n2 := nodeID(1), nodeID(2)
	a.SetVault("zV1", n1, []Action{Clone, Pull})
	a.SetVault("zV1", n2, []Action{Pull})
	a.SetVault("zV2", n1, []Action{Pull})
	if !a.VaultAllowed("zV1", n1, Clone) || a.VaultAllowed("zV1", n2, Clone) || a.VaultAllowed("zV3", n1, Pull) {
		t.Fatal("vault allowed")
	}
	if ps, _ := a.VaultPermissions("zV1"); len(ps) != 2 {
		t.Fatalf("vault permissions %v", ps)
	}
	if vs, _ := a.VaultsOf(n1); len(vs) != 2 {
		t.Fatalf("vaults of n1 %v", vs)
	}
	a.SetVault("zV1", n1, nil)
	if a.VaultAllowed("zV1", n1, Pull) {
		t.Fatal("revoke")
	}
	if err := a.SetVault("zV1", n1, []Action{Notify}); !errors.Is(err, ErrInvalidAction) {
		t.Fatal("gestalt action accepted as a vault action")
	}
}
