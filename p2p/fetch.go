package p2p

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/pkfs/pkfs/keyring"
	"github.com/pkfs/pkfs/vaultstore"
)

// FetchStats describes one fetch.
type FetchStats struct {
	Head    Hash  `json:"head"` // hex in JSON
	Objects int   `json:"objects"`
	Commits int   `json:"commits"`
	Bytes   int64 `json:"bytes"`
}

// fetch pulls a vault's missing objects from a node and fast-forwards.
func (s *System) fetch(ctx context.Context, v *vaultstore.Vault, from keyring.NodeID, progress io.Writer) (FetchStats, error) {
	var st FetchStats
	if !s.Online() {
		return st, ErrOffline
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	sink := newPackSink(v)
	var data io.Writer = sink
	if progress != nil {
		data = io.MultiWriter(sink, progress)
	}
	var resp fetchResponse
	have := v.Head()
	err := s.Node.Call(ctx, from, "vaults.fetch", fetchRequest{VaultID: v.ID().String(), Have: Hash(have)}, &resp, data)
	if err = sink.finish(err); err != nil {
		if errors.Is(err, ErrConflict) {
			return st, diverged(v, from, have)
		}
		if errors.Is(err, ErrBadRequest) || errors.Is(err, ErrTooLarge) {
			logf("vault %s: refused the pack from %s: %v", v.ID(), from, err)
		}
		return st, err
	}
	st = FetchStats{Head: resp.Head, Objects: resp.Objects, Commits: resp.Commits, Bytes: sink.n}
	head := st.Head.V()
	if head.IsZero() {
		return st, nil
	}
	if err := v.FastForward(head, false); err != nil {
		if errors.Is(err, vaultstore.ErrNotDescendant) {
			if v.CountSince(head) >= 0 {
				// another fetch (a live pull and one by hand) got further
				// meanwhile: our head already holds this one
				return st, nil
			}
			return st, diverged(v, from, have)
		}
		err = fmt.Errorf("%w: the pack from %s does not hold everything its head %s needs: %v", ErrBadRequest, from, head, err)
		logf("vault %s: refused the head from %s: %v", v.ID(), from, err)
		return st, err
	}
	return st, nil
}

// diverged is the error of a fetch whose history does not contain ours.
func diverged(v *vaultstore.Vault, from keyring.NodeID, have vaultstore.Hash) error {
	return fmt.Errorf("%w: vault %s: the history at %s does not contain this replica's head %s "+
		"(merging diverged replicas comes later)", ErrConflict, v.Name(), from, have)
}

// Clone makes a local replica of a vault another node shares with us.
func (s *System) Clone(ctx context.Context, from keyring.NodeID, ref string, progress io.Writer) (*vaultstore.Vault, FetchStats, error) {
	if !s.Online() {
		return nil, FetchStats{}, ErrOffline
	}
	var info VaultInfo
	if err := s.Node.Call(ctx, from, "vaults.info", map[string]string{"vault": ref}, &info, nil); err != nil {
		return nil, FetchStats{}, err
	}
	id, err := vaultstore.ParseVaultID(info.VaultID)
	if err != nil {
		return nil, FetchStats{}, fmt.Errorf("%w: vault ID from the peer", ErrBadRequest)
	}
	if old, err := s.Vaults.VaultByID(id); err == nil {
		return nil, FetchStats{}, fmt.Errorf("%w: already cloned as %q", vaultstore.ErrVaultExists, old.Name())
	}
	if want, err := vaultstore.ParseVaultID(ref); err == nil && want != id {
		logf("asked %s for vault %s, it answered with vault %s: refused", from, want, id)
		return nil, FetchStats{}, fmt.Errorf("%w: asked for vault %s, the peer answered with %s", ErrBadRequest, want, id)
	}
	if vaultstore.ValidateName(info.VaultName) != nil {
		// empty, too long, a path, a control character, or the form of a
		// vault ID (which would shadow it): a safe name of our own
		logf("vault %s from %s: its name is not valid here; cloned under a name of ours", id, from)
		info.VaultName = "vault"
	}
	name, err := s.Vaults.UniqueName(info.VaultName)
	if err != nil {
		return nil, FetchStats{}, err
	}
	v, err := s.Vaults.CreateReplica(id, name, from)
	if err != nil {
		return nil, FetchStats{}, err
	}
	st, err := s.fetch(ctx, v, from, progress)
	if err != nil {
		_ = s.Vaults.Delete(name)
		return nil, st, err
	}
	if s.repl != nil {
		s.repl.setBehind(v.ID(), 0)
	}
	return v, st, nil
}

// Pull fetches what a replica lacks from a node (its origin by default).
func (s *System) Pull(ctx context.Context, vault string, from *keyring.NodeID) (FetchStats, error) {
	v, err := s.Vaults.Vault(vault)
	if err != nil {
		return FetchStats{}, err
	}
	src := v.Info().Origin
	var id keyring.NodeID
	if from != nil {
		id = *from
	} else if src == "" {
		return FetchStats{}, fmt.Errorf("%w: %s is not a replica; name the node to pull from", ErrBadRequest, v.Name())
	} else if id, err = keyring.ParseNodeID(src); err != nil {
		return FetchStats{}, err
	}
	if !v.ReadOnly() {
		return FetchStats{}, fmt.Errorf("%w: %s is this node's own vault, not a replica: pulling into it comes with writable replicas", ErrBadRequest, v.Name())
	}
	st, err := s.fetch(ctx, v, id, nil)
	if err == nil && s.repl != nil {
		s.repl.setBehind(v.ID(), 0)
	}
	return st, err
}
