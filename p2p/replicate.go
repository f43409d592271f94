package p2p

import (
	"context"
	"errors"

	"sync"
	"time"

	"github.com/pkfs/pkfs/keyring"
	"github.com/pkfs/pkfs/vaultstore"
)

// replicator keeps replicas in step with their origins and tells followers
// about our commits.
type replicator struct {
	s        *System
	interval time.Duration
	queue    chan vaultstore.VaultID

	mu     sync.Mutex
	queued map[vaultstore.VaultID]bool
	behind map[vaultstore.VaultID]int
	// unreachable: followers that announcements could not reach, and when
	unreachable map[keyring.NodeID]time.Time
	unsub       func()
	stopped     chan struct{}
}

func newReplicator(s *System, interval time.Duration) *replicator {
	return &replicator{s: s, interval: interval, queue: make(chan vaultstore.VaultID, 1024),
		queued: map[vaultstore.VaultID]bool{}, behind: map[vaultstore.VaultID]int{},
		unreachable: map[keyring.NodeID]time.Time{}, stopped: make(chan struct{})}
}

// subscribe announces every local commit of a shared vault to the
// connected nodes that may pull it.
func (r *replicator) subscribe() {
	r.unsub = r.s.Vaults.Subscribe(func(ev vaultstore.Event) {
		if ev.Kind != vaultstore.EventCommit || ev.Remote {
			return
		}
		go r.announce(ev.Vault, ev.New)
	})
}

// announce tells the followers of a vault about its new head. A follower
// that is not connected is dialled (a follower that is online hears of the
// commit even when no connection is up, as after this node restarted),
// unless it could not be reached within the last followerRetry: one that
// is away is not dialled again on every commit. It catches up when it
// comes back and connects.
func (r *replicator) announce(vault vaultstore.VaultID, head vaultstore.Hash) {
	followers, err := r.s.ACL.Followers(vault.String())
	if err != nil {
		return
	}
	for _, id := range followers {
		if !r.s.Node.Connected(id) && r.failedRecently(id) {
			continue
		}
		go func(id keyring.NodeID) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			req := changedRequest{VaultID: vault.String(), Head: Hash(head)}
			err := r.s.Node.Call(ctx, id, "vaults.changed", req, nil, nil)
			r.mu.Lock()
			if err != nil && (errors.Is(err, ErrUnavailable) || errors.Is(err, ErrUnknownNode) || errors.Is(err, ErrPeerID)) {
				r.unreachable[id] = time.Now()
			} else {
				delete(r.unreachable, id)
			}
			r.mu.Unlock()
			if err != nil {
				logf("vault %s: telling %s about commit %s: %v", vault, id, head, err)
			}
		}(id)
	}
}

// followerRetry is how long a follower that could not be reached is left
// alone by announcements.
const followerRetry = 30 * time.Second

func (r *replicator) failedRecently(id keyring.NodeID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.unreachable[id]
	return ok && time.Since(t) < followerRetry
}

// announceAll tells the followers of every vault of ours its head: they
// catch up with commits made while this node was offline.
func (r *replicator) announceAll() {
	infos, err := r.s.Vaults.List()
	if err != nil {
		return
	}
	for _, i := range infos {
		if i.Origin != "" {
			continue
		}
		if v, err := r.s.Vaults.VaultByID(i.ID); err == nil && !v.Head().IsZero() {
			r.announce(i.ID, v.Head())
		}
	}
}

// onConnect: a connection to id came up; replicas that follow it catch up.
func (r *replicator) onConnect(id keyring.NodeID) {
	for _, v := range r.replicasOf(&id) {
		r.schedule(v)
	}
}

func (r *replicator) replicasOf(origin *keyring.NodeID) []vaultstore.VaultID {
	infos, err := r.s.Vaults.List()
	if err != nil {
		return nil
	}
	var out []vaultstore.VaultID
	for _, i := range infos {
		if i.Origin != "" && (origin == nil || i.Origin == origin.String()) {
			out = append(out, i.ID)
		}
	}
	return out
}

// schedule queues a pull of a replica (coalesced while queued).
func (r *replicator) schedule(id vaultstore.VaultID) {
	r.mu.Lock()
	if r.queued[id] {
		r.mu.Unlock()
		return
	}
	r.queued[id] = true
	r.mu.Unlock()
	select {
	case r.queue <- id:
	default:
		r.mu.Lock()
		delete(r.queued, id)
		r.mu.Unlock()
	}
}

// loop runs queued pulls and, every interval, schedules every replica.
func (r *replicator) loop(ctx context.Context) {
	defer close(r.stopped)
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for _, v := range r.replicasOf(nil) {
		r.schedule(v)
	}
	r.announceAll()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			for _, v := range r.replicasOf(nil) {
				r.schedule(v)
			}
		case id := <-r.queue:
			r.mu.Lock()
			delete(r.queued, id)
			r.mu.Unlock()
			r.pull(ctx, id)
		}
	}
}

func (r *replicator) pull(ctx context.Context, id vaultstore.VaultID) {
	v, err := r.s.Vaults.VaultByID(id)
	if err != nil || v.Info().Origin == "" {
		return
	}
	origin, err := keyring.ParseNodeID(v.Info().Origin)
	if err != nil {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	st, err := r.s.fetch(cctx, v, origin, nil)
	if err != nil {
		r.mu.Lock()
		delete(r.behind, id) // unknown until the origin answers again
		r.mu.Unlock()
		return
	}
	r.setBehind(id, 0)
	if st.Commits > 0 {
		logf("vault %s: pulled %d commits (%d objects, %d bytes) from %s", id, st.Commits, st.Objects, st.Bytes, origin)
	}
}

func (r *replicator) setBehind(id vaultstore.VaultID, n int) {
	r.mu.Lock()
	r.behind[id] = n
	r.mu.Unlock()
}

// Behind returns how many commits a replica was behind its origin at the
// last check, and whether it is known.
func (s *System) Behind(id vaultstore.VaultID) (int, bool) {
	if s.repl == nil {
		return 0, false
	}
	s.repl.mu.Lock()
	defer s.repl.mu.Unlock()
	n, ok := s.repl.behind[id]
	return n, ok
}

func (r *replicator) stop() {
	if r.unsub != nil {
		r.unsub()
	}
}
