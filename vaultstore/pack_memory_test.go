package vaultstore

import (
	"bytes"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"testing"
	"time"
)

// heapGrowth runs fn and returns the peak of the heap above its level
// before, sampled every 2 ms. The collector runs often meanwhile, so that
// the peak is mostly live memory, not garbage not collected yet.
func heapGrowth(fn func()) uint64 {
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	base, peak := read(), uint64(0)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			peak = max(peak, read())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	fn()
	close(done)
	wg.Wait()
	if peak = max(peak, read()); peak < base {
		return 0
	}
	return peak - base
}

// A blob far larger than what the import may hold streams into the chunk
// store: the heap grows by a few chunks and the store's write buffers
// (two memtables of 16 MiB), not by the blob, and the blob reads back
// whole.
func TestImportPackStreamsLargeBlobs(t *testing.T) {
	const size = 64 << 20
	blob := hugeZeros(size)
	pack := new(rawPack).obj(3, blob).bytes() // ~48 KiB
	h := computeHash(3, blob)
	blob = nil
	r := newReplica(t, newTestVault(t))
	var err error
	grew := heapGrowth(func() { _, err = r.ImportPack(bytes.NewReader(pack), DefaultPackLimits()) })
	t.Logf("a %d MiB blob from a %d KiB pack: the heap grew by %d KiB", size>>20, len(pack)>>10, grew>>10)
	if err != nil {
		t.Fatal(err)
	}
	if grew > 52<<20 {
		t.Fatalf("the heap grew by %d MiB", grew>>20)
	}
	b, err := r.OpenHash(Hash(h))
	if err != nil || b.Size() != size {
		t.Fatalf("blob: %v", err)
	}
}
