package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"time"

	"github.com/pkfs/pkfs/vaultstore"
)

// SecretParams name a path in a vault, optionally at a revision.
type SecretParams struct {
	Vault string `json:"vault"`
	Path  string `json:"path"`
	Rev   string `json:"rev,omitempty"`
}

// SecretWriteParams are the parameters of secrets.write; the content is the
// call's input stream.
type SecretWriteParams struct {
	Vault string `json:"vault"`
	Path  string `json:"path"`
	Size  int64  `json:"size"` // -1 when unknown
	Exec  bool   `json:"exec,omitempty"`
}

// SecretPathsParams name several paths of one vault.
type SecretPathsParams struct {
	Vault     string   `json:"vault"`
	Paths     []string `json:"paths"`
	Recursive bool     `json:"recursive,omitempty"` // rm -r
	Parents   bool     `json:"parents,omitempty"`   // mkdir -p
}

// SecretRenameParams are the parameters of secrets.rename.
type SecretRenameParams struct {
	Vault   string `json:"vault"`
	Path    string `json:"path"`
	NewPath string `json:"newPath"`
}

// LsItem is one entry of secrets.ls.
type LsItem struct {
	Path string `json:"path"`
	Type string `json:"type"`
}

// StatResult is the result of secrets.stat.
type StatResult struct {
	Vault string    `json:"vault"`
	Path  string    `json:"path"`
	Type  string    `json:"type"`
	Size  int64     `json:"size"`
	Mode  uint32    `json:"mode"`
	Mtime time.Time `json:"mtime"`
	Hash  string    `json:"hash"`
}

// Mode bits the mount and stat report.
const (
	ModeFile    = 0o100600
	ModeExec    = 0o100700
	ModeDir     = 0o040700
	ModeSymlink = 0o120777
)

// ModeOf returns the POSIX mode of a vault entry.
func ModeOf(e vaultstore.Entry) uint32 {
	switch {
	case e.Type == vaultstore.TypeDir:
		return ModeDir
	case e.Type == vaultstore.TypeSymlink:
		return ModeSymlink
	case e.Exec:
		return ModeExec
	}
	return ModeFile
}

func (s *Service) snapshot(vault, rev string) (*vaultstore.Vault, *vaultstore.Snapshot, error) {
	v, err := s.Vaults.Vault(vault)
	if err != nil {
		return nil, nil, err
	}
	snap, err := v.Snapshot(rev)
	return v, snap, err
}

func (s *Service) update(vault string, fn func(*vaultstore.Tx) error) (any, error) {
	v, err := s.Vaults.Vault(vault)
	if err != nil {
		return nil, err
	}
	h, err := v.Update(vaultstore.CommitOptions{Sync: true}, fn)
	if err != nil {
		return nil, err
	}
	return CommitResult{CommitID: h.String()}, nil
}

func init() {
	register("secrets.cat", func(ctx context.Context, s *Service, c *Call) (any, error) {
		var p SecretParams
		if err := decode(c, &p); err != nil {
			return nil, err
		}
		_, snap, err := s.snapshot(p.Vault, p.Rev)
		if err != nil {
			return nil, err
		}
		b, err := snap.Open(p.Path)
		if err != nil {
			return nil, err
		}
		if _, err := io.Copy(c.Out, b.Reader()); err != nil {
			return nil, err
		}
		return struct{}{}, nil
	})
	register("secrets.write", func(ctx context.Context, s *Service, c *Call) (any, error) {
		var p SecretWriteParams
		if err := decode(c, &p); err != nil {
			return nil, err
		}
		if _, err := vaultstore.CleanPath(p.Path); err != nil {
			return nil, err
		}
		v, err := s.Vaults.Vault(p.Vault)
		if err != nil {
			return nil, err
		}
		if v.ReadOnly() {
			return nil, fmt.Errorf("%w: %s", vaultstore.ErrReadOnly, v.Name())
		}
		b, err := v.WriteBlob(c.In, p.Size)
		if err != nil {
			return nil, err
		}
		h, err := v.Update(vaultstore.CommitOptions{Sync: true}, func(tx *vaultstore.Tx) error {
			exec := p.Exec
			if !exec {
				if snap, err := v.Snapshot(""); err == nil {
					if e, err := snap.Stat(p.Path); err == nil {
						exec = e.Exec // keep the executable bit of the file it replaces
					}
				}
			}
			return tx.Put(p.Path, b, exec, true)
		})
		if err != nil {
			b.Discard()
			return nil, err
		}
		return CommitResult{CommitID: h.String()}, nil
	})
	register("secrets.ls", func(ctx context.Context, s *Service, c *Call) (any, error) {
		var p SecretParams
		if err := decode(c, &p); err != nil {
			return nil, err
		}
		_, snap, err := s.snapshot(p.Vault, p.Rev)
		if err != nil {
			return nil, err
		}
		es, err := snap.ReadDir(p.Path)
		if errors.Is(err, vaultstore.ErrNotDir) {
			e, serr := snap.Stat(p.Path)
			if serr != nil {
				return nil, serr
			}
			es, err = []vaultstore.Entry{e}, nil
		}
		if err != nil {
			return nil, err
		}
		out := make([]LsItem, 0, len(es))
		for _, e := range es {
			out = append(out, LsItem{Path: e.Path, Type: e.Type.String()})
		}
		return out, nil
	})
	register("secrets.stat", func(ctx context.Context, s *Service, c *Call) (any, error) {
		var p SecretParams
		if err := decode(c, &p); err != nil {
			return nil, err
		}
		v, snap, err := s.snapshot(p.Vault, p.Rev)
		if err != nil {
			return nil, err
		}
		e, err := snap.Stat(p.Path)
		if err != nil {
			return nil, err
		}
		return StatResult{Vault: v.Name(), Path: e.Path, Type: e.Type.String(), Size: e.Size,
			Mode: ModeOf(e), Mtime: e.Mtime.UTC(), Hash: e.Hash.String()}, nil
	})
	register("secrets.mkdir", func(ctx context.Context, s *Service, c *Call) (any, error) {
		var p SecretPathsParams
		if err := decode(c, &p); err != nil {
			return nil, err
		}
		return s.update(p.Vault, func(tx *vaultstore.Tx) error {
			for _, d := range p.Paths {
				if err := tx.Mkdir(d, p.Parents); err != nil {
					return err
				}
			}
			return nil
		})
	})
	register("secrets.rm", func(ctx context.Context, s *Service, c *Call) (any, error) {
		var p SecretPathsParams
		if err := decode(c, &p); err != nil {
			return nil, err
		}
		mode := vaultstore.RemoveAny
		if p.Recursive {
			mode = vaultstore.RemoveRecursive
		}
		return s.update(p.Vault, func(tx *vaultstore.Tx) error {
			for _, d := range p.Paths {
				if err := tx.Remove(d, mode); err != nil {
					if errors.Is(err, vaultstore.ErrNotEmpty) {
						return fmt.Errorf("%w (use -r)", err)
					}
					return err
				}
			}
			return nil
		})
	})
	register("secrets.rename", func(ctx context.Context, s *Service, c *Call) (any, error) {
		var p SecretRenameParams
		if err := decode(c, &p); err != nil {
			return nil, err
		}
		return s.update(p.Vault, func(tx *vaultstore.Tx) error { return tx.Rename(p.Path, p.NewPath) })
	})
	register("secrets.touch", func(ctx context.Context, s *Service, c *Call) (any, error) {
		var p SecretParams
		if err := decode(c, &p); err != nil {
			return nil, err
		}
		v, snap, err := s.snapshot(p.Vault, "")
		if err != nil {
			return nil, err
		}
		if _, err := snap.Stat(p.Path); err == nil {
			if err := v.Touch(p.Path, time.Now()); err != nil {
				return nil, err
			}
			return struct{}{}, s.Vaults.Sync() // a CLI write is synced
		} else if !errors.Is(err, vaultstore.ErrNotFound) {
			return nil, err
		}
		return s.update(p.Vault, func(tx *vaultstore.Tx) error {
			return tx.WriteSmall(p.Path, nil, false, false)
		})
	})
}

// baseName is the last component of a vault path ("" for the root).
func baseName(p string) string {
	if p == "" {
		return ""
	}
	return path.Base(p)
}
