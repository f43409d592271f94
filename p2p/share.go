package p2p

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/pkfs/pkfs/gestalt"
	"github.com/pkfs/pkfs/keyring"
	"github.com/pkfs/pkfs/vaultstore"
)

// VaultShareData is the body of a vaultShare notification.
type VaultShareData struct {
	VaultID   string           `json:"vaultId"`
	VaultName string           `json:"vaultName"`
	Actions   []gestalt.Action `json:"actions"`
}

// ScanItem is a vault another node shares with us.
type ScanItem struct {
	VaultID   string           `json:"vaultId"`
	VaultName string           `json:"vaultName"`
	Actions   []gestalt.Action `json:"actions"`
}

// VaultInfo is what vaults.info answers.
type VaultInfo struct {
	VaultID   string `json:"vaultId"`
	VaultName string `json:"vaultName"`
	Head      Hash   `json:"head"`
}

type fetchRequest struct {
	VaultID string `json:"vaultId"`
	Have    Hash   `json:"have"`
}

type fetchResponse struct {
	Head    Hash `json:"head"`
	Objects int  `json:"objects"`
	Commits int  `json:"commits"`
}

type changedRequest struct {
	VaultID string `json:"vaultId"`
	Head    Hash   `json:"head"`
}

// Share lets a node clone and pull a vault, lets it scan us, and sends it a
// signed vaultShare notification (queued when offline). It reports whether
// the notification was delivered at once.
func (s *System) Share(ctx context.Context, vault string, to keyring.NodeID) (bool, error) {
	if to == s.Keyring.NodeID() {
		return false, ErrSelf
	}
	sent, err := s.ShareWith(ctx, vault, gestalt.NodeVertex(to))
	return sent[to] == Delivered, err
}

// ShareWith shares a vault with a whole gestalt: every node linked to the
// vertex, now or later, may clone and pull it (gestalt.Self: our own linked
// devices). Each node of the gestalt gets a notification; the result says
// what became of each (delivered at once, queued, or refused by a node that
// does not trust us: the share stands all the same).
func (s *System) ShareWith(ctx context.Context, vault string, v gestalt.Vertex) (map[keyring.NodeID]Delivery, error) {
	vt, err := s.Vaults.Vault(vault)
	if err != nil {
		return nil, err
	}
	acts := []gestalt.Action{gestalt.Clone, gestalt.Pull}
	if err := s.ACL.SetVaultFor(vt.ID().String(), v, acts); err != nil {
		return nil, err
	}
	target := v
	if v == gestalt.Self {
		target = gestalt.NodeVertex(s.Keyring.NodeID())
	} else if err := s.ACL.AllowVertex(v, gestalt.Scan); err != nil {
		return nil, err
	}
	sent := map[keyring.NodeID]Delivery{}
	for _, m := range s.Gestalts.Gestalt(target) {
		id, ok := m.Node()
		if !ok || id == s.Keyring.NodeID() {
			continue
		}
		n, err := s.NewNotification(id, TypeVaultShare, VaultShareData{VaultID: vt.ID().String(), VaultName: vt.Name(), Actions: acts})
		if err != nil {
			return sent, err
		}
		d, err := s.Deliver(ctx, n)
		if err != nil && d != Refused {
			return sent, err
		}
		sent[id] = d
	}
	return sent, nil
}

// Unshare revokes a node's clone and pull permissions on a vault.
func (s *System) Unshare(vault string, from keyring.NodeID) error {
	return s.UnshareWith(vault, gestalt.NodeVertex(from))
}

// UnshareWith revokes what a vertex (or Self) was given on a vault.
func (s *System) UnshareWith(vault string, v gestalt.Vertex) error {
	vt, err := s.Vaults.Vault(vault)
	if err != nil {
		return err
	}
	return s.ACL.SetVaultFor(vt.ID().String(), v, nil)
}

// inOurGestalt reports whether a node is linked to us.
func (s *System) inOurGestalt(id keyring.NodeID) bool {
	for _, m := range s.Gestalts.Gestalt(gestalt.NodeVertex(s.Keyring.NodeID())) {
		if m == gestalt.NodeVertex(id) {
			return true
		}
	}
	return false
}

// visibleVault resolves a vault that the caller may clone or pull, by ID
// text or, for vaults.info only, by name (what the peer's user typed);
// text of the form of a vault ID always means that ID (see
// vaultstore.Store.Vault). Anything else is "not shared", whether it
// exists or not.
func (s *System) visibleVault(ref string, caller keyring.NodeID) (*vaultstore.Vault, error) {
	v, err := s.Vaults.Vault(ref)
	notShared := fmt.Errorf("%w: no vault %q is shared with you", ErrPermission, ref)
	if err != nil {
		if errors.Is(err, vaultstore.ErrVaultNotFound) {
			return nil, notShared
		}
		return nil, err
	}
	id := v.ID().String()
	if !s.ACL.VaultAllowed(id, caller, gestalt.Clone) && !s.ACL.VaultAllowed(id, caller, gestalt.Pull) {
		return nil, notShared
	}
	return v, nil
}

// sharedVaultByID is visibleVault for requests that name a vault by ID
// only (every request but vaults.info).
func (s *System) sharedVaultByID(ref string, caller keyring.NodeID) (*vaultstore.Vault, error) {
	if _, err := vaultstore.ParseVaultID(ref); err != nil {
		logf("%s named a vault by something else than its ID: refused", caller)
		return nil, fmt.Errorf("%w: a vault ID is expected", ErrBadRequest)
	}
	return s.visibleVault(ref, caller)
}

func (s *System) registerVaultMethods() {
	s.Node.Handle("vaults.scan", s.handleScan)
	s.Node.Handle("vaults.info", func(ctx context.Context, from Peer, body json.RawMessage, _ io.Writer) (any, error) {
		var req struct {
			Vault string `json:"vault"`
		}
		if err := decodeBody(body, &req); err != nil {
			return nil, err
		}
		v, err := s.visibleVault(req.Vault, from.ID)
		if err != nil {
			return nil, err
		}
		return VaultInfo{VaultID: v.ID().String(), VaultName: v.Name(), Head: Hash(v.Head())}, nil
	})
	s.Node.Handle("vaults.fetch", s.handleFetch)
	s.Node.Handle("vaults.changed", func(ctx context.Context, from Peer, body json.RawMessage, _ io.Writer) (any, error) {
		var req changedRequest
		if err := decodeBody(body, &req); err != nil {
			return nil, err
		}
		id, err := vaultstore.ParseVaultID(req.VaultID)
		if err != nil {
			return nil, fmt.Errorf("%w: vault ID", ErrBadRequest)
		}
		v, err := s.Vaults.VaultByID(id)
		if err != nil || v.Info().Origin != from.ID.String() {
			return struct{}{}, nil // not a replica we follow from this node: ignore
		}
		s.repl.schedule(id)
		return struct{}{}, nil
	})
}

func (s *System) handleScan(ctx context.Context, from Peer, body json.RawMessage, _ io.Writer) (any, error) {
	if err := decodeBody(body, &struct{}{}); err != nil {
		return nil, err
	}
	if !s.ACL.Allowed(from.ID, gestalt.Scan) && !s.inOurGestalt(from.ID) {
		return nil, fmt.Errorf("%w: you may not scan this node", ErrPermission)
	}
	vs, err := s.ACL.VaultsOf(from.ID)
	if err != nil {
		return nil, err
	}
	out := []ScanItem{}
	for id, acts := range vs {
		vid, err := vaultstore.ParseVaultID(id)
		if err != nil {
			continue
		}
		v, err := s.Vaults.VaultByID(vid)
		if err != nil {
			continue
		}
		out = append(out, ScanItem{VaultID: id, VaultName: v.Name(), Actions: acts})
	}
	slices.SortFunc(out, func(a, b ScanItem) int { return compareStrings(a.VaultName, b.VaultName) })
	return out, nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (s *System) handleFetch(ctx context.Context, from Peer, body json.RawMessage, out io.Writer) (any, error) {
	var req fetchRequest
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	v, err := s.sharedVaultByID(req.VaultID, from.ID)
	if err != nil {
		return nil, err
	}
	have := req.Have.V()
	act := gestalt.Pull
	if have.IsZero() {
		act = gestalt.Clone
	}
	if !s.ACL.VaultAllowed(v.ID().String(), from.ID, act) {
		return nil, fmt.Errorf("%w: you may not %s this vault", ErrPermission, act)
	}
	head := v.Head()
	commits := v.CountSince(have)
	if commits < 0 {
		return nil, fmt.Errorf("%w: your head %s is not in this vault's history", ErrConflict, have)
	}
	hashes, err := v.MissingObjects(have)
	if err != nil {
		return nil, err
	}
	if err := v.ExportPack(out, hashes); err != nil {
		return nil, err
	}
	return fetchResponse{Head: Hash(head), Objects: len(hashes), Commits: commits}, nil
}

// Scan asks a node which vaults it shares with us.
func (s *System) Scan(ctx context.Context, node keyring.NodeID) ([]ScanItem, error) {
	if !s.Online() {
		return nil, ErrOffline
	}
	var out []ScanItem
	err := s.Node.Call(ctx, node, "vaults.scan", struct{}{}, &out, nil)
	return out, err
}

// ErrOffline is returned by operations that need the network when no agent runs.
var ErrOffline = errors.New("this needs a running agent (pkfs agent start, or pkfs mount)")
