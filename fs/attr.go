package fs

import (
	"encoding/binary"
	"hash/fnv"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/pkfs/pkfs/vaultstore"
)

// Modes shown for vault entries: files 0600 (0700 when executable),
// directories 0700, symlinks 0777.
const (
	modeFile    = syscall.S_IFREG | 0o600
	modeExec    = syscall.S_IFREG | 0o700
	modeDir     = syscall.S_IFDIR | 0o700
	modeSymlink = syscall.S_IFLNK | 0o777
	blockSize   = 4096
)

func modeOf(e vaultstore.Entry) uint32 {
	switch {
	case e.Type == vaultstore.TypeDir:
		return modeDir
	case e.Type == vaultstore.TypeSymlink:
		return modeSymlink
	case e.Exec:
		return modeExec
	}
	return modeFile
}

// inoOf is the inode number of a path: a hash of the vault, the revision
// ("" for HEAD), the path and its generation. 0 and 1 are reserved.
func inoOf(vault vaultstore.VaultID, rev, path string, gen uint64) uint64 {
	h := fnv.New64a()
	h.Write(vault[:])
	h.Write([]byte(rev))
	h.Write([]byte{0})
	h.Write([]byte(path))
	if gen != 0 {
		h.Write(binary.BigEndian.AppendUint64(nil, gen))
	}
	ino := h.Sum64()
	if ino <= 1 || ino == ^uint64(0) {
		ino += 2
	}
	return ino
}

// fill sets out from an entry; the one function behind Lookup, Create,
// Getattr and Setattr, so the kernel always sees the same attributes.
func (f *FS) fill(out *fuse.Attr, ino uint64, mode uint32, size int64, mtime time.Time) {
	out.Ino = ino
	out.Mode = mode
	out.Size = uint64(size)
	out.Blocks = (uint64(size) + 511) / 512
	out.Blksize = blockSize
	out.Nlink = 1
	if mode&syscall.S_IFDIR != 0 {
		out.Nlink = 2
		out.Size = blockSize
		out.Blocks = blockSize / 512
	}
	out.Owner = fuse.Owner{Uid: f.uid, Gid: f.gid}
	t := mtime
	if t.IsZero() {
		t = f.started
	}
	out.SetTimes(&t, &t, &t)
}
