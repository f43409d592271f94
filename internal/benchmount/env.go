package main

import (
	"archive/tar"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"time"
)

// params are the sizes of the workloads.
type params struct {
	createFiles int // create+write+close, then read back
	fileSize    int
	latFiles    int // distinct files read once right after a mount
	latIters    int // warm open+read+close of one file
	seqBytes    int
	seqChunk    int
	treeDirs    int // ls -lR and rm -rf
	treeFiles   int // per directory
	saves       int // rename-over saves with fsync
	tarFiles    int
	mountVaults int // the large node of the mount-time workload
	mountFiles  int // per vault
	mountSize   int // bytes per file there
}

func defaultParams() params {
	return params{createFiles: 1000, fileSize: 4096, latFiles: 200, latIters: 2000,
		seqBytes: 64 << 20, seqChunk: 1 << 20, treeDirs: 50, treeFiles: 40, saves: 500,
		tarFiles: 2500, mountVaults: 100, mountFiles: 1000, mountSize: 512}
}

func quickParams() params {
	return params{createFiles: 50, fileSize: 4096, latFiles: 20, latIters: 100,
		seqBytes: 4 << 20, seqChunk: 1 << 20, treeDirs: 5, treeFiles: 10, saves: 20,
		tarFiles: 100, mountVaults: 3, mountFiles: 20, mountSize: 512}
}

// benchEnv is what every target shares: the work directory, the content
// written (random, so that nothing deduplicates or compresses), the
// tarball, and notes for the table.
type benchEnv struct {
	work    string
	pool    []byte
	tarball string
	runtime string // XDG_RUNTIME_DIR of the pkfs agents

	mu       sync.Mutex
	noteList []string
	noteSeen map[string]bool
}

func newBenchEnv(work string, p params) *benchEnv {
	e := &benchEnv{work: work, noteSeen: map[string]bool{}, pool: newBenchEnvPool(p)}
	e.runtime = filepath.Join(work, "run")
	if err := os.MkdirAll(e.runtime, 0o700); err != nil {
		log.Fatal(err)
	}
	e.tarball = filepath.Join(work, "tree.tar")
	if err := writeTarball(e.tarball, p.tarFiles, e.pool); err != nil {
		log.Fatal(err)
	}
	return e
}

// newBenchEnvPool returns the random bytes every workload writes.
func newBenchEnvPool(p params) []byte {
	n := max(p.seqBytes, p.createFiles*p.fileSize, p.treeDirs*p.treeFiles*1024) + 1<<20
	pool := make([]byte, n)
	rand.NewChaCha8([32]byte{'p', 'k', 'f', 's'}).Read(pool)
	return pool
}

func numCPU() int { return runtime.NumCPU() }

func (e *benchEnv) close(remove bool) {
	if remove {
		os.RemoveAll(e.work)
	}
}

// content returns the n bytes of file i: distinct for every i.
func (e *benchEnv) content(i, n int) []byte {
	off := (i * 4099) % (len(e.pool) - n)
	return e.pool[off : off+n]
}

func (e *benchEnv) note(s string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.noteSeen[s] {
		e.noteSeen[s] = true
		e.noteList = append(e.noteList, s)
	}
}

func (e *benchEnv) notes() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.noteList...)
}

// dropCaches writes dirty pages and drops the page, dentry and inode
// caches, so that the next reads come from the disk.
func (e *benchEnv) dropCaches() {
	if err := exec.Command("sync").Run(); err != nil {
		e.note("sync failed: " + err.Error())
	}
	if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0); err != nil {
		e.note("cold figures are not cold: cannot drop caches (" + err.Error() + ")")
	}
}

// tarTime is the mtime of every tarball entry; tar x sets it on each.
var tarTime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// writeTarball writes a tarball shaped like a source tree: files spread
// over nested directories, most small, a few up to 64 KiB.
func writeTarball(path string, files int, pool []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	r := rand.New(rand.NewPCG(1, 2))
	dirs := []string{"src"}
	if err := tarDir(tw, "src/"); err != nil {
		return err
	}
	for i := range files {
		if i%20 == 0 {
			d := fmt.Sprintf("%s/d%03d", dirs[r.IntN(len(dirs))], len(dirs))
			if len(d) > 60 {
				d = fmt.Sprintf("src/d%03d", len(dirs))
			}
			dirs = append(dirs, d)
			if err := tarDir(tw, d+"/"); err != nil {
				return err
			}
		}
		size := 100 + r.IntN(2000)
		switch x := r.IntN(10); {
		case x >= 9:
			size = 16<<10 + r.IntN(48<<10)
		case x >= 6:
			size = 2<<10 + r.IntN(14<<10)
		}
		off := r.IntN(len(pool) - size)
		h := &tar.Header{Name: fmt.Sprintf("%s/f%05d.txt", dirs[len(dirs)-1], i), Mode: 0o644, Size: int64(size),
			Typeflag: tar.TypeReg, ModTime: tarTime}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := tw.Write(pool[off : off+size]); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return f.Close()
}

func tarDir(tw *tar.Writer, name string) error {
	return tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Typeflag: tar.TypeDir, ModTime: tarTime})
}
