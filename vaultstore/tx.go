package vaultstore

import (
	"fmt"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// Tx is a set of changes that becomes one commit (see Vault.Update). It
// edits an in-memory copy of only the trees on the paths it touches; when it
// commits, only those trees are re-encoded. A Tx is used by one goroutine.
type Tx struct {
	v       *Vault
	root    *txDir
	pending []*pendingObject
	msgs    []string
	trees   overlay // trees this transaction wrote
	mtimes  map[string]time.Time
}

// SetMtime makes the mtime of path in this commit t rather than the commit
// time (a mount records the time of the last write, which it has already
// shown).
func (tx *Tx) SetMtime(path string, t time.Time) {
	if tx.mtimes == nil {
		tx.mtimes = map[string]time.Time{}
	}
	if parts, err := CleanPath(path); err == nil {
		tx.mtimes[JoinPath(parts)] = t
	}
}

// txDir is a directory on a path the transaction touched: the stored tree
// it was loaded from, and the entries this transaction looked up or changed.
// The stored tree is not copied: a commit in a directory of many entries
// pays for the entries it touches, plus one merge when it is written.
type txDir struct {
	base    plumbing.Hash       // the stored tree this was loaded from; zero if new
	tree    *tree               // its decoded form (shared, immutable); nil if new
	changed map[string]*txEntry // entries looked up or set here; nil: removed
	count   int                 // the number of entries (the placeholder aside)
	dirty   bool
}

func newTxDir() *txDir { return &txDir{changed: map[string]*txEntry{}, dirty: true} }

type txEntry struct {
	mode filemode.FileMode
	hash plumbing.Hash
	dir  *txDir // the loaded subtree, for directories on a touched path
}

func (e *txEntry) isDir() bool { return e.mode == filemode.Dir }

// get returns the entry named name. An entry of the stored tree is copied
// into changed on first use, so that edits of it (a loaded subtree, a mode)
// stick.
func (d *txDir) get(name string) (*txEntry, bool) {
	if e, ok := d.changed[name]; ok {
		return e, e != nil
	}
	if d.tree == nil || name == keepName {
		return nil, false
	}
	te, ok := d.tree.find(name)
	if !ok {
		return nil, false
	}
	e := &txEntry{mode: te.mode, hash: te.hash}
	d.changed[name] = e
	return e, true
}

// set adds or replaces the entry named name.
func (d *txDir) set(name string, e *txEntry) {
	if _, ok := d.get(name); !ok {
		d.count++
	}
	d.changed[name] = e
	d.dirty = true
}

// remove removes the entry named name, which exists.
func (d *txDir) remove(name string) {
	if _, ok := d.get(name); ok {
		d.count--
	}
	d.changed[name] = nil
	d.dirty = true
}

// sorted returns the entries in git order: the stored tree's, with this
// transaction's merged in (only those are sorted).
func (d *txDir) sorted() []treeEntry {
	mine := make([]treeEntry, 0, len(d.changed))
	for name, e := range d.changed {
		if e != nil {
			mine = append(mine, treeEntry{name: name, mode: e.mode, hash: e.hash})
		}
	}
	sortEntries(mine)
	out := make([]treeEntry, 0, d.count+1)
	i := 0
	if d.tree != nil {
		for _, b := range d.tree.entries {
			if _, ok := d.changed[b.name]; ok || b.name == keepName {
				continue
			}
			for i < len(mine) && gitCompare(&mine[i], &b) < 0 {
				out = append(out, mine[i])
				i++
			}
			out = append(out, b)
		}
	}
	return append(out, mine[i:]...)
}

func (tx *Tx) load(h plumbing.Hash) (*txDir, error) {
	t, err := tx.v.tree(h)
	if err != nil {
		return nil, err
	}
	d := &txDir{base: h, tree: t, changed: map[string]*txEntry{}, count: len(t.entries)}
	if _, ok := t.find(keepName); ok {
		d.count--
	}
	return d, nil
}

func (tx *Tx) sub(e *txEntry) (*txDir, error) {
	if e.dir == nil {
		d, err := tx.load(e.hash)
		if err != nil {
			return nil, err
		}
		e.dir = d
	}
	return e.dir, nil
}

// dir returns the directory at parts; with create, missing directories are
// made (mkdir -p).
func (tx *Tx) dir(parts []string, create bool) (*txDir, error) {
	d := tx.root
	for i, name := range parts {
		e, ok := d.get(name)
		if !ok {
			if !create {
				return nil, fmt.Errorf("%w: %s", ErrNotFound, JoinPath(parts[:i+1]))
			}
			e = &txEntry{mode: filemode.Dir, dir: newTxDir()}
			d.set(name, e)
		}
		if !e.isDir() {
			return nil, fmt.Errorf("%w: %s", ErrNotDir, JoinPath(parts[:i+1]))
		}
		sub, err := tx.sub(e)
		if err != nil {
			return nil, err
		}
		d = sub
	}
	return d, nil
}

// lookup returns the entry at parts and its parent directory.
func (tx *Tx) lookup(parts []string) (*txEntry, *txDir, error) {
	if len(parts) == 0 {
		return &txEntry{mode: filemode.Dir, dir: tx.root}, nil, nil
	}
	parent, err := tx.dir(parts[:len(parts)-1], false)
	if err != nil {
		return nil, nil, err
	}
	e, ok := parent.get(parts[len(parts)-1])
	if !ok {
		return nil, parent, fmt.Errorf("%w: %s", ErrNotFound, JoinPath(parts))
	}
	return e, parent, nil
}

func (tx *Tx) note(format string, a ...any) { tx.msgs = append(tx.msgs, fmt.Sprintf(format, a...)) }

// Stat returns what is at path inside the transaction.
func (tx *Tx) Stat(path string) (EntryType, error) {
	parts, err := CleanPath(path)
	if err != nil {
		return 0, err
	}
	e, _, err := tx.lookup(parts)
	if err != nil {
		return 0, err
	}
	return typeOf(e.mode), nil
}

// Put sets the file at path to a stored blob (see Vault.WriteBlob). With
// parents, missing directories are created.
func (tx *Tx) Put(path string, b *PendingBlob, exec, parents bool) error {
	parts, err := CleanPath(path)
	if err != nil {
		return err
	}
	if len(parts) == 0 {
		return fmt.Errorf("%w: the vault root", ErrIsDir)
	}
	mode := filemode.Regular
	if exec {
		mode = filemode.Executable
	}
	return tx.put(parts, b.p, mode, parents)
}

func (tx *Tx) put(parts []string, p *pendingObject, mode filemode.FileMode, parents bool) error {
	parent, err := tx.dir(parts[:len(parts)-1], parents)
	if err != nil {
		return err
	}
	name := parts[len(parts)-1]
	verb := "added"
	if old, ok := parent.get(name); ok {
		if old.isDir() {
			return fmt.Errorf("%w: %s", ErrIsDir, JoinPath(parts))
		}
		verb = "modified"
	}
	parent.set(name, &txEntry{mode: mode, hash: p.hash})
	tx.pending = append(tx.pending, p)
	tx.note("%s %s", JoinPath(parts), verb)
	return nil
}

// WriteSmall puts a small in-memory content at path (see Put).
func (tx *Tx) WriteSmall(path string, content []byte, exec, parents bool) error {
	b, err := tx.v.WriteBlobBytes(content)
	if err != nil {
		return err
	}
	return tx.Put(path, b, exec, parents)
}

// Symlink creates a symbolic link at path pointing to target.
func (tx *Tx) Symlink(path, target string) error {
	parts, err := CleanPath(path)
	if err != nil {
		return err
	}
	if len(parts) == 0 || target == "" || len(target) > MaxPathLen || strings.IndexByte(target, 0) >= 0 {
		return fmt.Errorf("%w: symlink %s", ErrInvalidPath, path)
	}
	if _, _, err := tx.lookup(parts); err == nil {
		return fmt.Errorf("%w: %s", ErrExists, JoinPath(parts))
	}
	p, err := tx.v.objs.inlineObject(plumbing.BlobObject, []byte(target))
	if err != nil {
		return err
	}
	return tx.put(parts, p, filemode.Symlink, false)
}

// RemoveMode says what Remove may remove.
type RemoveMode int

// Remove modes.
const (
	RemoveFile      RemoveMode = iota // files and symlinks only (unlink)
	RemoveDir                         // empty directories only (rmdir)
	RemoveAny                         // files, symlinks and empty directories
	RemoveRecursive                   // anything, directories with their content
)

// Remove removes path.
func (tx *Tx) Remove(path string, mode RemoveMode) error {
	parts, err := CleanPath(path)
	if err != nil {
		return err
	}
	if len(parts) == 0 {
		return fmt.Errorf("%w: cannot remove the vault root", ErrInvalidPath)
	}
	e, parent, err := tx.lookup(parts)
	if err != nil {
		return err
	}
	p := JoinPath(parts)
	if e.isDir() {
		if mode == RemoveFile {
			return fmt.Errorf("%w: %s", ErrIsDir, p)
		}
		if mode != RemoveRecursive {
			d, err := tx.sub(e)
			if err != nil {
				return err
			}
			if d.count > 0 {
				return fmt.Errorf("%w: %s", ErrNotEmpty, p)
			}
		}
	} else if mode == RemoveDir {
		return fmt.Errorf("%w: %s", ErrNotDir, p)
	}
	parent.remove(parts[len(parts)-1])
	tx.note("%s removed", p)
	return nil
}

// Mkdir creates a directory; with parents, like mkdir -p (an existing
// directory is then not an error).
func (tx *Tx) Mkdir(path string, parents bool) error {
	parts, err := CleanPath(path)
	if err != nil {
		return err
	}
	if e, _, err := tx.lookup(parts); err == nil {
		if parents && e.isDir() {
			return nil
		}
		return fmt.Errorf("%w: %s", ErrExists, JoinPath(parts))
	}
	parent, err := tx.dir(parts[:len(parts)-1], parents)
	if err != nil {
		return err
	}
	parent.set(parts[len(parts)-1], &txEntry{mode: filemode.Dir, dir: newTxDir()})
	tx.note("%s created", JoinPath(parts))
	return nil
}

// Rename moves from to to with POSIX semantics: a file replaces a file, a
// directory replaces an empty directory; a directory cannot move into itself.
func (tx *Tx) Rename(from, to string) error {
	fp, err := CleanPath(from)
	if err != nil {
		return err
	}
	tp, err := CleanPath(to)
	if err != nil {
		return err
	}
	if len(fp) == 0 || len(tp) == 0 {
		return fmt.Errorf("%w: the vault root cannot be renamed", ErrInvalidRename)
	}
	f, t := JoinPath(fp), JoinPath(tp)
	if f == t {
		_, _, err := tx.lookup(fp)
		return err
	}
	if strings.HasPrefix(t, f+"/") {
		return fmt.Errorf("%w: %s into itself", ErrInvalidRename, f)
	}
	src, sparent, err := tx.lookup(fp)
	if err != nil {
		return err
	}
	dparent, err := tx.dir(tp[:len(tp)-1], false)
	if err != nil {
		return err
	}
	if dst, ok := dparent.get(tp[len(tp)-1]); ok {
		switch {
		case src.isDir() && !dst.isDir():
			return fmt.Errorf("%w: %s", ErrNotDir, t)
		case !src.isDir() && dst.isDir():
			return fmt.Errorf("%w: %s", ErrIsDir, t)
		case dst.isDir():
			d, err := tx.sub(dst)
			if err != nil {
				return err
			}
			if d.count > 0 {
				return fmt.Errorf("%w: %s", ErrNotEmpty, t)
			}
		}
	}
	sparent.remove(fp[len(fp)-1])
	dparent.set(tp[len(tp)-1], src)
	tx.note("%s renamed to %s", f, t)
	return nil
}

// Chmod sets or clears the executable bit of a file; on directories and
// symlinks it does nothing.
func (tx *Tx) Chmod(path string, exec bool) error {
	parts, err := CleanPath(path)
	if err != nil {
		return err
	}
	e, parent, err := tx.lookup(parts)
	if err != nil {
		return err
	}
	if e.mode != filemode.Regular && e.mode != filemode.Executable {
		return nil
	}
	mode := filemode.Regular
	if exec {
		mode = filemode.Executable
	}
	if e.mode != mode {
		e.mode = mode
		parent.dirty = true
		tx.note("%s mode changed", JoinPath(parts))
	}
	return nil
}

var emptyBlobHash = plumbing.ComputeHash(plumbing.BlobObject, nil)

// Exec reports whether path is an executable file (false when missing).
func (tx *Tx) Exec(path string) bool {
	parts, err := CleanPath(path)
	if err != nil {
		return false
	}
	e, _, err := tx.lookup(parts)
	return err == nil && e.mode == filemode.Executable
}
