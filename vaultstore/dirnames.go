package vaultstore

import (
	"fmt"

	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// ReadDirNames lists a directory like ReadDir, from its tree alone: the
// entries carry Name, Path, Type, Exec and Hash, but no Size or Mtime. It
// reads no object of the entries, so it is cheaper than ReadDir, and a
// damaged object does not hide the other entries of its directory (the
// mount lists with it; reading the damaged file fails on its own).
func (s *Snapshot) ReadDirNames(path string) ([]Entry, error) {
	parts, err := CleanPath(path)
	if err != nil {
		return nil, err
	}
	h := s.root
	if len(parts) > 0 {
		te, err := s.find(parts)
		if err != nil {
			return nil, err
		}
		if !te.isDir() {
			return nil, fmt.Errorf("%w: %s", ErrNotDir, JoinPath(parts))
		}
		h = te.hash
	}
	t, err := s.v.tree(h)
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(t.entries))
	for i := range t.entries {
		te := &t.entries[i]
		if te.name == keepName {
			continue
		}
		out = append(out, Entry{Name: te.name, Path: JoinPath(append(parts[:len(parts):len(parts)], te.name)),
			Type: typeOf(te.mode), Exec: te.mode == filemode.Executable, Hash: Hash(te.hash)})
	}
	sortByName(out)
	return out, nil
}
