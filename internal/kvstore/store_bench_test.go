package kvstore

import (
	"crypto/rand"
	mrand "math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/pkfs/pkfs/internal/cryptocore"
	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"
)

// The workload of the store benchmarks: 10,000 values of 4 KiB under
// 20-byte random keys (like object IDs), written in batches of 100.
const (
	benchValues    = 10_000
	benchValueSize = 4 << 10
	benchBatch     = 100
)

// envBenchDir puts the benchmark databases on another disk than TMPDIR.
const envBenchDir = "PKFS_BENCH_DIR"

type benchData struct {
	keys, vals [][]byte
	order      []int // a random read order
}

func newBenchData() *benchData {
	d := &benchData{order: mrand.Perm(benchValues)}
	for range benchValues {
		k, v := make([]byte, 20), make([]byte, benchValueSize)
		rand.Read(k)
		rand.Read(v)
		d.keys, d.vals = append(d.keys, k), append(d.vals, v)
	}
	return d
}

// benchDir returns a fresh directory on the benchmark disk.
func benchDir(b *testing.B) string {
	root := os.Getenv(envBenchDir)
	if root == "" {
		return b.TempDir()
	}
	dir, err := os.MkdirTemp(root, "pkfs-kvbench-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// openRaw opens plain goleveldb with the store's own options.
func openRaw(b *testing.B, dir string) *leveldb.DB {
	db, err := leveldb.OpenFile(dir, Options())
	if err != nil {
		b.Fatal(err)
	}
	return db
}

func openSealed(b *testing.B, dir string) (*DB, *Bucket) {
	db, err := Open(dir, cryptocore.NewRandomKey())
	if err != nil {
		b.Fatal(err)
	}
	return db, db.Bucket("bench")
}

func putRaw(b *testing.B, db *leveldb.DB, d *benchData, sync bool) time.Duration {
	start := time.Now()
	var bt leveldb.Batch
	for i := range benchValues {
		bt.Put(d.keys[i], d.vals[i])
		if bt.Len() == benchBatch {
			if err := db.Write(&bt, &opt.WriteOptions{Sync: sync}); err != nil {
				b.Fatal(err)
			}
			bt.Reset()
		}
	}
	return time.Since(start)
}

func putSealed(b *testing.B, db *DB, bk *Bucket, d *benchData, sync bool) time.Duration {
	start := time.Now()
	var bt Batch
	for i := range benchValues {
		bt.Put(bk, d.keys[i], d.vals[i])
		if bt.Len() == benchBatch {
			if err := db.Write(&bt, sync); err != nil {
				b.Fatal(err)
			}
			bt.Reset()
		}
	}
	return time.Since(start)
}

// reportRatio reports both sides in ms per 10,000 values and their ratio.
func reportRatio(b *testing.B, raw, sealed time.Duration, n int) {
	b.ReportMetric(float64(raw.Microseconds())/1e3/float64(n), "raw-ms")
	b.ReportMetric(float64(sealed.Microseconds())/1e3/float64(n), "sealed-ms")
	b.ReportMetric(float64(sealed)/float64(raw), "x-vs-raw")
}

// BenchmarkPut10k writes 10,000 sealed 4 KiB values in batches of 100 into
// a fresh store, and the same plaintext into a fresh raw goleveldb opened
// with the same options on the same disk, in the same iteration, and
// reports the ratio. Synced: every batch is fsynced. Unsynced: the batches
// reach the OS only (the store's background loop still syncs twice a
// second, as it does in use).
func BenchmarkPut10k(b *testing.B) {
	for _, sync := range []bool{true, false} {
		name := map[bool]string{true: "synced", false: "unsynced"}[sync]
		b.Run(name, func(b *testing.B) {
			d := newBenchData()
			var raw, sealed time.Duration
			n := 0
			for b.Loop() {
				b.StopTimer()
				rdb := openRaw(b, benchDir(b))
				sdb, bk := openSealed(b, benchDir(b))
				b.StartTimer()
				// Alternate which side runs first, so neither always
				// meets a warmer page cache.
				if n%2 == 0 {
					raw += putRaw(b, rdb, d, sync)
					sealed += putSealed(b, sdb, bk, d, sync)
				} else {
					sealed += putSealed(b, sdb, bk, d, sync)
					raw += putRaw(b, rdb, d, sync)
				}
				n++
				b.StopTimer()
				rdb.Close()
				sdb.Close()
				b.StartTimer()
			}
			reportRatio(b, raw, sealed, n)
		})
	}
}

// BenchmarkGet10k reads 10,000 values in random order from a store and a
// raw goleveldb that hold the same 10,000 values of 4 KiB. Every sealed
// read authenticates and decrypts its value.
func BenchmarkGet10k(b *testing.B) {
	d := newBenchData()
	rdir, sdir := benchDir(b), benchDir(b)
	rdb := openRaw(b, rdir)
	putRaw(b, rdb, d, false)
	rdb.Close()
	key := cryptocore.NewRandomKey()
	sdb, err := Open(sdir, key)
	if err != nil {
		b.Fatal(err)
	}
	putSealed(b, sdb, sdb.Bucket("bench"), d, false)
	sdb.Close()
	// Reopened, both hold their data in tables, not in a memtable whose
	// size depends on when a flush happened to run.
	rdb = openRaw(b, rdir)
	defer rdb.Close()
	if sdb, err = Open(sdir, key); err != nil {
		b.Fatal(err)
	}
	defer sdb.Close()
	bk := sdb.Bucket("bench")
	var raw, sealed time.Duration
	n := 0
	for b.Loop() {
		start := time.Now()
		for _, i := range d.order {
			if _, err := rdb.Get(d.keys[i], nil); err != nil {
				b.Fatal(err)
			}
		}
		mid := time.Now()
		for _, i := range d.order {
			if _, err := bk.Get(d.keys[i]); err != nil {
				b.Fatal(err)
			}
		}
		raw, sealed = raw+mid.Sub(start), sealed+time.Since(mid)
		n++
	}
	reportRatio(b, raw, sealed, n)
}

// BenchmarkSealOpen4KiB is the per-value floor of the sealing cost: the
// on-disk key (HMAC), sealing and opening one 4 KiB value, without
// goleveldb. 10,000 of them explain most of the gap between the store and
// raw goleveldb above.
func BenchmarkSealOpen4KiB(b *testing.B) {
	db, bk := openSealed(b, benchDir(b))
	defer db.Close()
	k, v := make([]byte, 20), make([]byte, benchValueSize)
	rand.Read(k)
	rand.Read(v)
	b.SetBytes(benchValueSize)
	for b.Loop() {
		dk := bk.dbKey(k)
		sealed := bk.seal(dk, k, v)
		if _, _, err := bk.open(dk, sealed); err != nil {
			b.Fatal(err)
		}
	}
}
