package vaultstore

import (
	"io"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
)

// WritePack writes the objects as a git packfile without deltas, for a
// peer that lacks them (see MissingObjects). Nothing is written for none.
func (v *Vault) WritePack(w io.Writer, objects []Hash) error {
	if len(objects) == 0 {
		return nil
	}
	hs := make([]plumbing.Hash, len(objects))
	for i, h := range objects {
		hs[i] = h.git()
	}
	_, err := packfile.NewEncoder(w, v.storer, false).Encode(hs, 0)
	return err
}

// ReadPack stores the objects of a packfile read from r. They stay
// unreferenced until FastForward moves the head onto them.
func (v *Vault) ReadPack(r io.Reader) error {
	return packfile.UpdateObjectStorage(v.storer, r)
}
