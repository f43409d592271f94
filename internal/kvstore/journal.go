package kvstore

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// journals makes synced writes durable across goleveldb's journal
// rotation. goleveldb closes a full journal without fsync and goes on in a
// new one: a synced batch in the new journal could then survive a power cut
// while unsynced batches it depends on (the chunks of a large file, written
// before its commit) were lost with the old journal's tail. So before every
// synced write, every older journal that grew since it was last synced is
// synced (the newest one is synced by the write itself); after it, if the
// write rotated the journal, the journals before the new one are synced and
// the directory entry of the new one too. (A rotation inside the synced
// write leaves a window of a few fsyncs in which a power cut could keep the
// batch and lose the old journal's tail; goleveldb does not let us close
// it.)
type journals struct {
	dir    string
	mu     sync.Mutex
	synced map[string]int64 // journal name → size when last synced
}

func (j *journals) list() (map[string]int64, error) {
	ents, err := os.ReadDir(j.dir)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".log") || e.IsDir() {
			continue
		}
		if fi, err := e.Info(); err == nil {
			out[e.Name()] = fi.Size()
		}
	}
	return out, nil
}

// before syncs every journal with data not synced yet.
func (j *journals) before() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	cur, err := j.list()
	if err != nil {
		return err
	}
	if j.synced == nil {
		j.synced = map[string]int64{}
	}
	newest := newestJournal(cur)
	for name, size := range cur {
		if name == newest {
			continue // the synced write syncs it
		}
		if old, ok := j.synced[name]; ok && old >= size {
			continue
		}
		if err := fsyncPath(filepath.Join(j.dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		j.synced[name] = size
	}
	for name := range j.synced {
		if _, ok := cur[name]; !ok {
			delete(j.synced, name) // removed after a compaction
		}
	}
	return nil
}

// after handles a rotation during the synced write: the older journals are
// synced, and the directory, so the new journal holding the batch can be
// found again.
func (j *journals) after() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	cur, err := j.list()
	if err != nil {
		return err
	}
	newest := newestJournal(cur)
	if _, seen := j.synced[newest]; seen || newest == "" {
		return nil
	}
	for name, size := range cur {
		if name == newest {
			continue
		}
		if old, ok := j.synced[name]; ok && old >= size {
			continue
		}
		if err := fsyncPath(filepath.Join(j.dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		j.synced[name] = size
	}
	j.synced[newest] = 0 // seen; its content is synced by each synced write
	return fsyncPath(j.dir)
}

// newestJournal returns the journal goleveldb writes to: the highest
// number (names are zero-padded numbers).
func newestJournal(cur map[string]int64) string {
	newest := ""
	for name := range cur {
		if len(name) > len(newest) || (len(name) == len(newest) && name > newest) {
			newest = name
		}
	}
	return newest
}

func fsyncPath(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}
