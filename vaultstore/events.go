package vaultstore

import "sync"

// EventKind says what happened to a vault.
type EventKind int

// Event kinds.
const (
	EventCommit  EventKind = iota // the head moved (a local commit or a fetch)
	EventRenamed                  // the vault got a new name
	EventDeleted                  // the vault is gone
	EventTouched                  // an mtime changed without a commit
	EventCreated                  // a new vault
	EventRefused                  // a peer's commit or grants entry was refused (Err says why)
)

// Change is one path that a commit changed. Dir marks a directory whose
// entries changed (names added or removed).
type Change struct {
	Path string
	Dir  bool
}

// Event tells subscribers about a change. It is how changes travel up to
// the filesystem (cache invalidation) and to the peers (replication),
// without vaultstore importing them.
type Event struct {
	Vault   VaultID
	Kind    EventKind
	Old     Hash     // previous head commit
	New     Hash     // new head commit
	Changes []Change // paths changed by the commit (nil: unknown, assume all)
	Remote  bool     // the commit came from a peer
	Origin  string   // CommitOptions.Origin of a local commit
	Err     error    // EventRefused: a *RefusedError, or an error wrapping ErrGrants
}

type events struct {
	mu   sync.Mutex
	next int
	subs map[int]func(Event)
}

// Subscribe calls fn after every event, outside any vault lock, in the
// goroutine that caused it. fn must not block for long. The returned
// function cancels the subscription.
func (s *Store) Subscribe(fn func(Event)) (cancel func()) {
	e := &s.events
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.subs == nil {
		e.subs = map[int]func(Event){}
	}
	id := e.next
	e.next++
	e.subs[id] = fn
	return func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		delete(e.subs, id)
	}
}

func (e *events) publish(ev Event) {
	e.mu.Lock()
	fns := make([]func(Event), 0, len(e.subs))
	for _, fn := range e.subs {
		fns = append(fns, fn)
	}
	e.mu.Unlock()
	for _, fn := range fns {
		fn(ev)
	}
}
