package agent

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"

	"github.com/pkfs/pkfs/vaultstore"
)

// SecretDirParams are the parameters of secrets.dir: the input stream is a
// tar archive of the local tree, imported under Dir as one commit.
type SecretDirParams struct {
	Vault string `json:"vault"`
	Dir   string `json:"dir"`
}

// ImportResult is the result of secrets.dir.
type ImportResult struct {
	CommitID string `json:"commitId"`
	Files    int    `json:"files"`
	Dirs     int    `json:"dirs"`
	Bytes    int64  `json:"bytes"`
}

// maxImportEntries bounds the entries of one import.
const maxImportEntries = 1 << 20

type importOp struct {
	kind   byte // '0' file, '5' dir, '2' symlink
	path   string
	blob   *vaultstore.PendingBlob
	exec   bool
	target string
}

func init() {
	register("secrets.dir", func(ctx context.Context, s *Service, c *Call) (any, error) {
		var p SecretDirParams
		if err := decode(c, &p); err != nil {
			return nil, err
		}
		v, err := s.Vaults.Vault(p.Vault)
		if err != nil {
			return nil, err
		}
		if v.ReadOnly() {
			return nil, fmt.Errorf("%w: %s", vaultstore.ErrReadOnly, v.Name())
		}
		base, err := vaultstore.CleanPath(p.Dir)
		if err != nil {
			return nil, err
		}
		ops, res, err := readImport(ctx, v, c.In, vaultstore.JoinPath(base))
		discard := func() {
			for _, op := range ops {
				if op.blob != nil {
					op.blob.Discard()
				}
			}
		}
		if err != nil {
			discard()
			return nil, err
		}
		h, err := v.Update(vaultstore.CommitOptions{Sync: true}, func(tx *vaultstore.Tx) error {
			if res.Files+res.Dirs > 0 && len(base) > 0 {
				if err := tx.Mkdir(vaultstore.JoinPath(base), true); err != nil {
					return err
				}
			}
			for _, op := range ops {
				var err error
				switch op.kind {
				case tar.TypeDir:
					err = tx.Mkdir(op.path, true)
				case tar.TypeSymlink:
					_ = tx.Remove(op.path, vaultstore.RemoveFile)
					err = tx.Symlink(op.path, op.target)
				default:
					err = tx.Put(op.path, op.blob, op.exec, true)
				}
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			discard()
			return nil, err
		}
		res.CommitID = h.String()
		return res, nil
	})
}

// readImport stores the files of a tar stream as pending blobs.
func readImport(ctx context.Context, v *vaultstore.Vault, in io.Reader, base string) ([]importOp, ImportResult, error) {
	var ops []importOp
	var res ImportResult
	tr := tar.NewReader(in)
	for {
		if err := ctx.Err(); err != nil {
			return ops, res, err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return ops, res, nil
		}
		if err != nil {
			return ops, res, Errorf(KindInvalid, "invalid import stream: "+err.Error())
		}
		if len(ops) >= maxImportEntries {
			return ops, res, Errorf(KindTooLarge, fmt.Sprintf("more than %d entries", maxImportEntries))
		}
		parts, err := vaultstore.CleanPath(h.Name)
		if err != nil {
			return ops, res, err
		}
		if len(parts) == 0 {
			continue
		}
		p := path.Join(base, vaultstore.JoinPath(parts))
		switch h.Typeflag {
		case tar.TypeDir:
			ops = append(ops, importOp{kind: tar.TypeDir, path: p})
			res.Dirs++
		case tar.TypeSymlink:
			ops = append(ops, importOp{kind: tar.TypeSymlink, path: p, target: h.Linkname})
		case tar.TypeReg:
			b, err := v.WriteBlob(tr, h.Size)
			if err != nil {
				return ops, res, err
			}
			ops = append(ops, importOp{kind: tar.TypeReg, path: p, blob: b, exec: h.Mode&0o100 != 0})
			res.Files++
			res.Bytes += h.Size
		default:
			return ops, res, Errorf(KindInvalid, fmt.Sprintf("%s: unsupported file type", h.Name))
		}
	}
}
