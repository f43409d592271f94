package agent

import (
	"context"
	"time"

	"github.com/pkfs/pkfs/vaultstore"
)

// VaultParams name a vault.
type VaultParams struct {
	Vault string `json:"vault"`
}

// VaultRenameParams are the parameters of vaults.rename.
type VaultRenameParams struct {
	Vault   string `json:"vault"`
	NewName string `json:"newName"`
}

// VaultLogParams are the parameters of vaults.log.
type VaultLogParams struct {
	Vault  string `json:"vault"`
	Number int    `json:"number,omitempty"`
}

// VaultVersionParams are the parameters of vaults.version.
type VaultVersionParams struct {
	Vault string `json:"vault"`
	Ref   string `json:"ref"`
}

// VaultListItem is one vault of vaults.list.
type VaultListItem struct {
	VaultName string `json:"vaultName"`
	VaultID   string `json:"vaultId"`
	// Origin is the node a replica follows; Behind how many commits it
	// lacked at the last check (absent while unknown: no agent, or the
	// origin has not answered).
	Origin string `json:"origin,omitempty"`
	Behind *int   `json:"behind,omitempty"`
}

// LogItem is one commit of vaults.log.
type LogItem struct {
	CommitID  string    `json:"commitId"`
	Committer string    `json:"committer"`
	Timestamp time.Time `json:"timestamp"`
	Message   string    `json:"message"`
}

// CommitResult is the result of a command that makes a commit.
type CommitResult struct {
	CommitID string `json:"commitId"`
}

// VerifyResult is the result of vaults.verify.
type VerifyResult struct {
	Vault    string   `json:"vault"`
	OK       bool     `json:"ok"`
	Objects  int      `json:"objects"`
	Commits  int      `json:"commits"`
	Refs     int      `json:"refs"`
	Problems []string `json:"problems"`
}

func itemOf(i vaultstore.VaultInfo) VaultListItem {
	return VaultListItem{VaultName: i.Name, VaultID: i.ID.String(), Origin: i.Origin}
}

func init() {
	register("vaults.create", func(ctx context.Context, s *Service, c *Call) (any, error) {
		var p VaultParams
		if err := decode(c, &p); err != nil {
			return nil, err
		}
		v, err := s.Vaults.Create(p.Vault)
		if err != nil {
			return nil, err
		}
		return itemOf(v.Info()), nil
	})
	register("vaults.list", func(ctx context.Context, s *Service, c *Call) (any, error) {
		infos, err := s.Vaults.List()
		out := make([]VaultListItem, 0, len(infos))
		for _, i := range infos {
			it := itemOf(i)
			if n, ok := s.P2P.Behind(i.ID); ok && i.Origin != "" {
				it.Behind = &n
			}
			out = append(out, it)
		}
		return out, err
	})
	register("vaults.rename", func(ctx context.Context, s *Service, c *Call) (any, error) {
		var p VaultRenameParams
		if err := decode(c, &p); err != nil {
			return nil, err
		}
		return struct{}{}, s.Vaults.Rename(p.Vault, p.NewName)
	})
	register("vaults.delete", func(ctx context.Context, s *Service, c *Call) (any, error) {
		var p VaultParams
		if err := decode(c, &p); err != nil {
			return nil, err
		}
		v, err := s.Vaults.Vault(p.Vault)
		if err != nil {
			return nil, err
		}
		id := v.ID().String()
		if err := s.Vaults.Delete(p.Vault); err != nil {
			return nil, err
		}
		return struct{}{}, s.P2P.ACL.DropVault(id)
	})
	register("vaults.log", func(ctx context.Context, s *Service, c *Call) (any, error) {
		var p VaultLogParams
		if err := decode(c, &p); err != nil {
			return nil, err
		}
		v, err := s.Vaults.Vault(p.Vault)
		if err != nil {
			return nil, err
		}
		log, err := v.Log(p.Number)
		out := make([]LogItem, 0, len(log))
		for _, e := range log {
			out = append(out, LogItem{CommitID: e.ID.String(), Committer: e.Committer, Timestamp: e.Time.UTC(), Message: e.Message})
		}
		return out, err
	})
	register("vaults.version", func(ctx context.Context, s *Service, c *Call) (any, error) {
		var p VaultVersionParams
		if err := decode(c, &p); err != nil {
			return nil, err
		}
		v, err := s.Vaults.Vault(p.Vault)
		if err != nil {
			return nil, err
		}
		h, err := v.Version(p.Ref, vaultstore.CommitOptions{Sync: true})
		if err != nil {
			return nil, err
		}
		return CommitResult{CommitID: h.String()}, nil
	})
	register("vaults.verify", func(ctx context.Context, s *Service, c *Call) (any, error) {
		var p VaultParams
		if err := decode(c, &p); err != nil {
			return nil, err
		}
		v, err := s.Vaults.Vault(p.Vault)
		if err != nil {
			return nil, err
		}
		r, err := v.Verify()
		if err != nil {
			return nil, err
		}
		problems := r.Problems
		if problems == nil {
			problems = []string{}
		}
		return VerifyResult{Vault: v.Name(), OK: r.OK(), Objects: r.Objects, Commits: r.Commits, Refs: r.Refs, Problems: problems}, nil
	})
}
