package fs

import (
	"errors"
	"path"

	"github.com/pkfs/pkfs/vaultstore"
)

// statEntry stats p at a snapshot. A file whose object is damaged (its size
// cannot be read) is still described, from its tree entry, with size 0:
// the mount lists it, and it can be removed or overwritten with O_TRUNC,
// while opening it to read fails with EIO. The damage is logged.
func statEntry(snap *vaultstore.Snapshot, p string) (vaultstore.Entry, error) {
	ent, err := snap.Stat(p)
	if err == nil || !errors.Is(err, vaultstore.ErrCorrupt) {
		return ent, err
	}
	dir, name := path.Split(p)
	es, lerr := snap.ReadDirNames(path.Clean("/" + dir)[1:])
	if lerr != nil {
		return ent, err
	}
	for _, e := range es {
		if e.Name == name && e.Type != vaultstore.TypeDir {
			errno("stat", err) // logs the damage, not the path
			return e, nil
		}
	}
	return ent, err
}
