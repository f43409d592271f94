package vaultstore

import (
	"errors"
	"log"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/pkfs/pkfs/internal/kvstore"
)

// writerState is what a vault keeps so that several nodes can write it:
// its grants log, and caches of its commit graph (decoded commits and
// generation numbers) for verification and merges.
type writerState struct {
	grants  grantsLog
	commits *lru[plumbing.Hash, *commitObj]
	gens    generations
}

func newWriterState(grants *kvstore.Bucket) *writerState {
	return &writerState{grants: grantsLog{bucket: grants}, commits: newLRU[plumbing.Hash, *commitObj](4096)}
}

// refuse logs a refused commit or grants entry (IDs and the reason only:
// never a path or a name) and tells subscribers.
func (v *Vault) refuse(err error) {
	var r *RefusedError
	if errors.As(err, &r) {
		log.Printf("pkfs vaultstore: vault %s: refused commit %s by %s: %v", v.id, r.Commit, r.Author, r.Reason)
	} else {
		log.Printf("pkfs vaultstore: vault %s: refused: %v", v.id, err)
	}
	v.s.events.publish(Event{Vault: v.id, Kind: EventRefused, Err: err})
}
