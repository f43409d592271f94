package vaultstore

import (
	"fmt"
	"io"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// EntryType is the type of a vault entry.
type EntryType int

// Entry types.
const (
	TypeFile EntryType = iota
	TypeDir
	TypeSymlink
)

func (t EntryType) String() string {
	switch t {
	case TypeDir:
		return "DIRECTORY"
	case TypeSymlink:
		return "SYMLINK"
	}
	return "FILE"
}

func typeOf(m filemode.FileMode) EntryType {
	switch m {
	case filemode.Dir:
		return TypeDir
	case filemode.Symlink:
		return TypeSymlink
	}
	return TypeFile
}

// Entry describes a file, directory or symlink of a snapshot.
type Entry struct {
	Name  string
	Path  string
	Type  EntryType
	Exec  bool
	Size  int64 // content size for files, target length for symlinks, 0 for directories
	Hash  Hash
	Mtime time.Time
}

// Snapshot is a read-only view of a vault at one commit.
type Snapshot struct {
	v      *Vault
	commit plumbing.Hash
	root   plumbing.Hash
	when   time.Time
	isHead bool
}

// Snapshot returns a view of the vault at rev ("" or "HEAD" for the head;
// see Resolve for the forms accepted).
func (v *Vault) Snapshot(rev string) (*Snapshot, error) {
	if err := v.checkUsable(); err != nil {
		return nil, err
	}
	if rev == "" || rev == "HEAD" {
		h := v.head.Load()
		s := &Snapshot{v: v, commit: h.commit, root: h.root, isHead: true}
		return s, nil
	}
	ch, err := v.resolve(rev)
	if err != nil {
		return nil, err
	}
	c, err := v.commit(ch)
	if err != nil {
		return nil, err
	}
	return &Snapshot{v: v, commit: ch, root: c.TreeHash, when: c.Committer.When}, nil
}

// Commit returns the commit the snapshot shows.
func (s *Snapshot) Commit() Hash { return Hash(s.commit) }

// find walks to parts and returns the tree entry (nil for the root).
func (s *Snapshot) find(parts []string) (*treeEntry, error) {
	h := s.root
	var e *treeEntry
	for i, name := range parts {
		t, err := s.v.tree(h)
		if err != nil {
			return nil, err
		}
		var ok bool
		if e, ok = t.find(name); !ok {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, JoinPath(parts[:i+1]))
		}
		if i < len(parts)-1 && !e.isDir() {
			return nil, fmt.Errorf("%w: %s", ErrNotDir, JoinPath(parts[:i+1]))
		}
		h = e.hash
	}
	return e, nil
}

func (s *Snapshot) entry(path string, te *treeEntry) (Entry, error) {
	e := Entry{Path: path, Mtime: s.mtime(path)}
	if te == nil {
		e.Type, e.Hash = TypeDir, Hash(s.root)
		return e, nil
	}
	e.Name, e.Hash, e.Type, e.Exec = te.name, Hash(te.hash), typeOf(te.mode), te.mode == filemode.Executable
	if e.Type != TypeDir {
		m, err := s.v.objs.getMeta(te.hash)
		if err != nil {
			return e, wrapObjErr(te.hash, err)
		}
		e.Size = m.size
	}
	return e, nil
}

func (s *Snapshot) mtime(path string) time.Time {
	if s.isHead {
		if t, err := s.v.indexedMtime(path); err == nil {
			return t
		}
	}
	if s.when.IsZero() && !s.commit.IsZero() {
		if c, err := s.v.commit(s.commit); err == nil {
			s.when = c.Committer.When
		}
	}
	return s.when
}

// Stat describes path.
func (s *Snapshot) Stat(path string) (Entry, error) {
	parts, err := CleanPath(path)
	if err != nil {
		return Entry{}, err
	}
	te, err := s.find(parts)
	if err != nil {
		return Entry{}, err
	}
	return s.entry(JoinPath(parts), te)
}

// ReadDir lists a directory in name order (the placeholder of empty
// directories is never listed).
func (s *Snapshot) ReadDir(path string) ([]Entry, error) {
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
		e, err := s.entry(JoinPath(append(parts[:len(parts):len(parts)], te.name)), te)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	sortByName(out)
	return out, nil
}

// Open returns the content of a file (or the target of a symlink).
func (s *Snapshot) Open(path string) (*Blob, error) {
	parts, err := CleanPath(path)
	if err != nil {
		return nil, err
	}
	te, err := s.find(parts)
	if err != nil {
		return nil, err
	}
	if te == nil || te.isDir() {
		return nil, fmt.Errorf("%w: %s", ErrIsDir, JoinPath(parts))
	}
	b, err := s.v.objs.openBlob(te.hash)
	return b, wrapObjErr(te.hash, err)
}

// OpenHash returns the content of a blob by hash.
func (v *Vault) OpenHash(h Hash) (*Blob, error) {
	b, err := v.objs.openBlob(h.git())
	return b, wrapObjErr(h.git(), err)
}

// ReadFile returns the whole content of a file, checked against its hash.
func (s *Snapshot) ReadFile(path string) ([]byte, error) {
	b, err := s.Open(path)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(b.Reader())
}

// Readlink returns the target of a symlink.
func (s *Snapshot) Readlink(path string) (string, error) {
	e, err := s.Stat(path)
	if err != nil {
		return "", err
	}
	if e.Type != TypeSymlink {
		return "", fmt.Errorf("%w: %s is not a symlink", ErrInvalidPath, path)
	}
	b, err := s.ReadFile(path)
	return string(b), err
}

// Walk calls fn for every entry under path (depth first, name order), not
// including path itself.
func (s *Snapshot) Walk(path string, fn func(Entry) error) error {
	es, err := s.ReadDir(path)
	if err != nil {
		return err
	}
	for _, e := range es {
		if err := fn(e); err != nil {
			return err
		}
		if e.Type == TypeDir {
			if err := s.Walk(e.Path, fn); err != nil {
				return err
			}
		}
	}
	return nil
}
