package vaultstore

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/pkfs/pkfs/internal/kvstore"
)

// CommitOptions tune one commit.
type CommitOptions struct {
	// Message replaces the generated message ("db/password modified").
	Message string
	// Sync makes the commit durable against a power cut before returning.
	Sync bool
	// AllowEmpty commits even when the tree does not change.
	AllowEmpty bool
	// Origin tags the commit's event, so that its author (a mount) can
	// recognise its own changes.
	Origin string
}

// PendingBlob is file content already stored but not yet part of a commit.
type PendingBlob struct {
	v *Vault
	p *pendingObject
}

// Hash returns the blob's git hash.
func (b *PendingBlob) Hash() Hash { return Hash(b.p.hash) }

// Size returns the blob's size.
func (b *PendingBlob) Size() int64 { return b.p.meta.size }

// WriteBlob stores file content from r without holding the vault's commit
// lock; Tx.Put then makes it part of a commit. size is the exact size, or -1
// when unknown. Memory stays bounded (a few chunks) whatever the size.
func (v *Vault) WriteBlob(r io.Reader, size int64) (*PendingBlob, error) {
	if err := v.checkUsable(); err != nil {
		return nil, err
	}
	p, err := v.objs.writeObject(plumbing.BlobObject, r, size)
	if err != nil {
		return nil, err
	}
	return &PendingBlob{v: v, p: p}, nil
}

// WriteBlobBytes is WriteBlob for content already in memory: no copy, one
// hash pass, and for files up to a few MiB the chunks are written with the
// commit itself. data must not change until the transaction that puts the
// blob has returned (or the blob is discarded).
func (v *Vault) WriteBlobBytes(data []byte) (*PendingBlob, error) {
	if err := v.checkUsable(); err != nil {
		return nil, err
	}
	p, err := v.objs.memObject(plumbing.BlobObject, data)
	if err != nil {
		return nil, err
	}
	return &PendingBlob{v: v, p: p}, nil
}

// Discard drops the chunks of a blob that will not be committed.
func (b *PendingBlob) Discard() { b.v.discard(b.p) }

func (v *Vault) discard(p *pendingObject) {
	if p.meta.chunked() && !p.exists && p.chunks == nil {
		v.objs.dropChunks(p.meta.prefix, p.meta.nchunks)
	}
	p.chunks = nil
}

// Update runs fn on a transaction and commits its changes as one commit.
// When fn fails, nothing is committed. A transaction that changes nothing
// makes no commit (unless AllowEmpty) and returns the current head.
func (v *Vault) Update(o CommitOptions, fn func(*Tx) error) (Hash, error) {
	if err := v.checkUsable(); err != nil {
		return ZeroHash, err
	}
	if v.ReadOnly() {
		return ZeroHash, fmt.Errorf("%w: %s", ErrReadOnly, v.Name())
	}
	h, err := v.update(o, fn)
	return Hash(h), err
}

func (v *Vault) update(o CommitOptions, fn func(*Tx) error) (plumbing.Hash, error) {
	v.wmu.Lock()
	head := v.head.Load()
	tx := &Tx{v: v}
	root, err := tx.load(head.root)
	if err != nil {
		v.wmu.Unlock()
		return plumbing.ZeroHash, err
	}
	tx.root = root
	ev, err := v.commitTx(tx, head, o, fn)
	v.wmu.Unlock()
	if err != nil {
		for _, p := range tx.pending {
			v.discard(p)
		}
		return plumbing.ZeroHash, err
	}
	if ev != nil {
		v.s.events.publish(*ev)
		return plumbing.Hash(ev.New), nil
	}
	if o.Sync {
		// no commit: the head's own commit may have been written unsynced
		// (a close), and the caller was promised it is durable
		if err := v.s.db.Sync(); err != nil {
			return plumbing.ZeroHash, err
		}
	}
	return head.commit, nil
}

func (v *Vault) commitTx(tx *Tx, head *headState, o CommitOptions, fn func(*Tx) error) (*Event, error) {
	if err := fn(tx); err != nil {
		return nil, err
	}
	var bt kvstore.Batch
	for _, p := range tx.pending {
		p.addTo(v.objs, &bt)
	}
	newRoot, err := tx.serialize(tx.root, true, &bt)
	if err != nil {
		return nil, err
	}
	if newRoot == head.root && !o.AllowEmpty && head.commit != plumbing.ZeroHash {
		return nil, nil
	}
	msg := o.Message
	if msg == "" {
		msg = generatedMessage(tx.msgs)
	}
	if msg == "" {
		msg = "no changes"
	}
	now := v.s.now()
	var parents []plumbing.Hash
	if !head.commit.IsZero() {
		parents = []plumbing.Hash{head.commit}
	}
	ch, err := v.addCommit(&bt, newRoot, parents, msg, now)
	if err != nil {
		return nil, err
	}
	ev, err := v.moveHead(&bt, head, ch, newRoot, now, o.Sync, false, tx.trees, tx.mtimes)
	if ev != nil {
		ev.Origin = o.Origin
	}
	return ev, err
}

// maxMessageLines bounds a generated commit message: an import of 10,000
// files must not make a commit that every open of the vault and every log
// decodes line by line.
const maxMessageLines = 100

// generatedMessage is one line per change ("db/password modified"), the
// first maxMessageLines of them and a count of the rest.
func generatedMessage(lines []string) string {
	if len(lines) <= maxMessageLines {
		return strings.Join(lines, "\n")
	}
	return strings.Join(lines[:maxMessageLines], "\n") + fmt.Sprintf("\n… and %d more changes", len(lines)-maxMessageLines)
}

// moveHead adds the ref update and the mtime index changes to bt, writes it
// in one batch, and returns the event to publish.
func (v *Vault) moveHead(bt *kvstore.Batch, head *headState, commit, root plumbing.Hash, when time.Time, sync, remote bool, ov overlay, mtimes map[string]time.Time) (*Event, error) {
	changes, err := v.indexChanges(bt, head.root, root, when, ov)
	if err != nil {
		return nil, err
	}
	for p, t := range mtimes { // after the index changes: a later put wins
		bt.Put(v.mtimes, []byte(p), encodeTime(t))
	}
	bt.Put(v.refs, []byte(Branch), []byte(commit.String()))
	if head.commit.IsZero() {
		bt.Put(v.refs, []byte(plumbing.HEAD), []byte("ref: "+Branch))
	}
	if err := v.s.db.Write(bt, sync); err != nil {
		return nil, err
	}
	v.head.Store(&headState{commit: commit, root: root})
	forget := make([]string, 0, len(changes)+len(mtimes))
	for _, c := range changes {
		forget = append(forget, c.Path)
	}
	for p := range mtimes {
		forget = append(forget, p)
	}
	v.mtc.forget(forget...)
	for h, t := range ov {
		v.trees.put(h, t)
	}
	return &Event{Vault: v.id, Kind: EventCommit, Old: Hash(head.commit), New: Hash(commit), Changes: changes, Remote: remote}, nil
}

// addCommit adds a commit by this node, signed, to bt. It runs under the
// commit lock, and checks again that this node may write: a revocation may
// have arrived since Update looked.
func (v *Vault) addCommit(bt *kvstore.Batch, root plumbing.Hash, parents []plumbing.Hash, msg string, when time.Time) (plumbing.Hash, error) {
	view, err := v.mw.grants.snapshot()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if v.Info().Origin != "" && !view.can(v.s.nodeID, view.len(), ActionWrite) {
		return plumbing.ZeroHash, fmt.Errorf("%w: %s", ErrReadOnly, v.Name())
	}
	c, err := v.s.newSignedCommit(root, parents, msg, when, view.len())
	if err != nil {
		return plumbing.ZeroHash, err
	}
	p, err := v.objs.inlineObject(plumbing.CommitObject, c.encode())
	if err != nil {
		return plumbing.ZeroHash, err
	}
	p.addTo(v.objs, bt)
	v.mw.commits.put(p.hash, c)
	return p.hash, nil
}

// serialize encodes the changed trees of the transaction bottom-up, adds
// them to bt, and returns the hash of d.
func (tx *Tx) serialize(d *txDir, isRoot bool, bt *kvstore.Batch) (plumbing.Hash, error) {
	changed := d.dirty || d.base.IsZero()
	for _, e := range d.changed {
		if e == nil || e.dir == nil {
			continue
		}
		h, err := tx.serialize(e.dir, false, bt)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if h != e.hash {
			e.hash, changed = h, true
		}
	}
	if !changed && d.base != emptyTreeHash {
		return d.base, nil
	}
	es := d.sorted()
	if len(es) == 0 && !isRoot {
		keep, err := tx.v.objs.inlineObject(plumbing.BlobObject, nil)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		keep.addTo(tx.v.objs, bt)
		es = append(es, treeEntry{name: keepName, mode: filemode.Regular, hash: keep.hash})
	}
	content := encodeTree(es) // sorts es
	if tx.trees == nil {
		tx.trees = overlay{}
	}
	decoded := newTree(es)
	p, err := tx.v.objs.memObject(plumbing.TreeObject, content) // (or chunked, when large)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	p.addTo(tx.v.objs, bt)
	tx.pending = append(tx.pending, p)
	d.base, d.dirty = p.hash, false
	tx.trees[p.hash] = decoded
	return p.hash, nil
}

// initialCommit starts the grants log of a new vault of ours and writes
// its first commit: an empty tree.
func (v *Vault) initialCommit() error {
	if err := v.startGrants(); err != nil {
		return err
	}
	_, err := v.update(CommitOptions{Message: "Initial commit", Sync: true, AllowEmpty: true}, func(*Tx) error { return nil })
	return err
}
