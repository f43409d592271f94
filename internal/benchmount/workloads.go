package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Every workload runs in its own top-level directory of the target (a
// vault, on pkfs) and checks what it reads, so a wrong answer fails the
// bench instead of looking fast. Figures are rates (higher is better) or
// times (lower is better), in the units of the table.

// createFiles creates, writes and closes p.createFiles files; files/s.
func createFiles(e *benchEnv, dir string, p params) (float64, error) {
	d := filepath.Join(dir, "create")
	if err := os.Mkdir(d, 0o700); err != nil {
		return 0, err
	}
	s := time.Now()
	for i := range p.createFiles {
		if err := writeFile(filepath.Join(d, fmt.Sprintf("f%04d", i)), e.content(i, p.fileSize), false); err != nil {
			return 0, err
		}
	}
	return float64(p.createFiles) / time.Since(s).Seconds(), nil
}

// readBack reads the files of createFiles back; files/s.
func readBack(e *benchEnv, dir string, p params) (float64, error) {
	d := filepath.Join(dir, "create")
	buf := make([]byte, p.fileSize+1)
	s := time.Now()
	for i := range p.createFiles {
		if err := readCheck(filepath.Join(d, fmt.Sprintf("f%04d", i)), buf, e.content(i, p.fileSize)); err != nil {
			return 0, err
		}
	}
	return float64(p.createFiles) / time.Since(s).Seconds(), nil
}

// latencySetup writes the files of the latency workloads.
func latencySetup(e *benchEnv, dir string, p params) error {
	d := filepath.Join(dir, "latency")
	if err := os.Mkdir(d, 0o700); err != nil {
		return err
	}
	for i := range p.latFiles {
		if err := writeFile(filepath.Join(d, fmt.Sprintf("f%04d", i)), e.content(10000+i, p.fileSize), false); err != nil {
			return err
		}
	}
	return nil
}

// latencyWarm opens, reads and closes one file again and again; the
// latencies in µs.
func latencyWarm(e *benchEnv, dir string, p params) ([]float64, error) {
	f := filepath.Join(dir, "latency", "f0000")
	want := e.content(10000, p.fileSize)
	buf := make([]byte, p.fileSize+1)
	for range 20 {
		if err := readCheck(f, buf, want); err != nil {
			return nil, err
		}
	}
	lat := make([]float64, 0, p.latIters)
	for range p.latIters {
		s := time.Now()
		if err := readCheck(f, buf, want); err != nil {
			return nil, err
		}
		lat = append(lat, float64(time.Since(s).Nanoseconds())/1e3)
	}
	return lat, nil
}

// latencyFirst reads each latency file once, as the first access after a
// mount; the latencies in µs.
func latencyFirst(e *benchEnv, dir string, p params) ([]float64, error) {
	buf := make([]byte, p.fileSize+1)
	lat := make([]float64, 0, p.latFiles)
	for i := range p.latFiles {
		f := filepath.Join(dir, "latency", fmt.Sprintf("f%04d", i))
		s := time.Now()
		if err := readCheck(f, buf, e.content(10000+i, p.fileSize)); err != nil {
			return nil, err
		}
		lat = append(lat, float64(time.Since(s).Nanoseconds())/1e3)
	}
	return lat, nil
}

// seqWrite writes one file of p.seqBytes in p.seqChunk writes and closes
// it; MB/s.
func seqWrite(e *benchEnv, dir string, p params) (float64, error) {
	d := filepath.Join(dir, "seq")
	if err := os.Mkdir(d, 0o700); err != nil {
		return 0, err
	}
	s := time.Now()
	if err := writeFileChunked(filepath.Join(d, "big"), e.pool[:p.seqBytes], p.seqChunk); err != nil {
		return 0, err
	}
	return float64(p.seqBytes) / 1e6 / time.Since(s).Seconds(), nil
}

// seqRead reads the file of seqWrite in p.seqChunk reads; MB/s.
func seqRead(e *benchEnv, dir string, p params) (float64, error) {
	fd, err := syscall.Open(filepath.Join(dir, "seq", "big"), syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer syscall.Close(fd)
	buf := make([]byte, p.seqChunk)
	s := time.Now()
	off := 0
	for off <= p.seqBytes {
		n, err := syscall.Read(fd, buf)
		if err != nil {
			return 0, err
		}
		if n == 0 {
			break
		}
		if off+n > p.seqBytes || !bytes.Equal(buf[:n], e.pool[off:off+n]) {
			return 0, fmt.Errorf("seq: wrong content at %d", off)
		}
		off += n
	}
	if off != p.seqBytes {
		return 0, fmt.Errorf("seq: read %d bytes, want %d", off, p.seqBytes)
	}
	return float64(p.seqBytes) / 1e6 / time.Since(s).Seconds(), nil
}

// treeSetup writes the tree that ls -lR lists and rm -rf removes.
func treeSetup(e *benchEnv, dir string, p params) error {
	for d := range p.treeDirs {
		sub := filepath.Join(dir, "tree", "t", fmt.Sprintf("d%02d", d))
		if err := os.MkdirAll(sub, 0o700); err != nil {
			return err
		}
		for f := range p.treeFiles {
			i := d*p.treeFiles + f
			if err := writeFile(filepath.Join(sub, fmt.Sprintf("f%03d", f)), e.content(20000+i, 1024), false); err != nil {
				return err
			}
		}
	}
	return nil
}

// lsTree runs ls -lR on the tree; seconds.
func lsTree(e *benchEnv, dir string, p params) (float64, error) {
	return timeCmd("ls", "-lR", filepath.Join(dir, "tree", "t"))
}

// rmTree runs rm -rf on the tree; seconds.
func rmTree(e *benchEnv, dir string, p params) (float64, error) {
	t := filepath.Join(dir, "tree", "t")
	s, err := timeCmd("rm", "-rf", t)
	if err == nil {
		if _, err := os.Lstat(t); !errors.Is(err, os.ErrNotExist) {
			return 0, fmt.Errorf("rm -rf left %s: %v", t, err)
		}
	}
	return s, err
}

// saves makes editor-style saves of one file: write a temporary file,
// fsync, close, rename it over the target; saves/s.
func saves(e *benchEnv, dir string, p params) (float64, error) {
	d := filepath.Join(dir, "saves")
	if err := os.Mkdir(d, 0o700); err != nil {
		return 0, err
	}
	target, tmp := filepath.Join(d, "doc.txt"), filepath.Join(d, ".doc.txt.swp")
	s := time.Now()
	for i := range p.saves {
		if err := writeFile(tmp, e.content(30000+i, 1024), true); err != nil {
			return 0, err
		}
		if err := syscall.Rename(tmp, target); err != nil {
			return 0, err
		}
	}
	rate := float64(p.saves) / time.Since(s).Seconds()
	return rate, readCheck(target, make([]byte, 1025), e.content(30000+p.saves-1, 1024))
}

// tarExtract runs tar x of the tarball; seconds.
func tarExtract(e *benchEnv, dir string, p params) (float64, error) {
	d := filepath.Join(dir, "tar")
	if err := os.Mkdir(d, 0o700); err != nil {
		return 0, err
	}
	return timeCmd("tar", "-xf", e.tarball, "-C", d)
}

// fillVaults writes vaults directories of files files (100 per
// subdirectory) under dir, four writers at a time.
func fillVaults(dir string, vaults, files, size int, e *benchEnv) error {
	var wg sync.WaitGroup
	errs := make(chan error, vaults)
	sem := make(chan struct{}, 4)
	for v := range vaults {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			for i := range files {
				sub := filepath.Join(dir, fmt.Sprintf("v%03d", v), fmt.Sprintf("d%02d", i/100))
				if i%100 == 0 {
					if err := os.MkdirAll(sub, 0o700); err != nil {
						errs <- err
						return
					}
				}
				if err := writeFile(filepath.Join(sub, fmt.Sprintf("f%04d", i)), e.content(v*files+i, size), false); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// writeFile creates path (O_TRUNC), writes data in one write, optionally
// fsyncs, and closes, reporting the error of each step.
func writeFile(path string, data []byte, fsync bool) error {
	fd, err := syscall.Open(path, syscall.O_CREAT|syscall.O_WRONLY|syscall.O_TRUNC|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	if n, err := syscall.Write(fd, data); err != nil || n != len(data) {
		syscall.Close(fd)
		return fmt.Errorf("write %s: %d bytes, %v", path, n, err)
	}
	if fsync {
		if err := syscall.Fsync(fd); err != nil {
			syscall.Close(fd)
			return err
		}
	}
	return syscall.Close(fd)
}

func writeFileChunked(path string, data []byte, chunk int) error {
	fd, err := syscall.Open(path, syscall.O_CREAT|syscall.O_WRONLY|syscall.O_TRUNC|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	for off := 0; off < len(data); off += chunk {
		end := min(off+chunk, len(data))
		if n, err := syscall.Write(fd, data[off:end]); err != nil || n != end-off {
			syscall.Close(fd)
			return fmt.Errorf("write %s at %d: %d bytes, %v", path, off, n, err)
		}
	}
	return syscall.Close(fd)
}

// readCheck opens path, reads it to the end into buf and closes it; the
// content must be want.
func readCheck(path string, buf, want []byte) error {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	n := 0
	for n < len(buf) {
		m, err := syscall.Read(fd, buf[n:])
		if err != nil {
			syscall.Close(fd)
			return err
		}
		if m == 0 {
			break
		}
		n += m
	}
	if err := syscall.Close(fd); err != nil {
		return err
	}
	if !bytes.Equal(buf[:n], want) {
		return fmt.Errorf("%s: wrong content (%d bytes, want %d)", path, n, len(want))
	}
	return nil
}

// timeCmd runs a command with its output thrown away; seconds.
func timeCmd(name string, args ...string) (float64, error) {
	cmd := exec.Command(name, args...)
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return 0, err
	}
	defer devnull.Close()
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = devnull, &stderr
	s := time.Now()
	err = cmd.Run()
	d := time.Since(s).Seconds()
	if err != nil {
		return 0, fmt.Errorf("%s: %w: %s", name, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return d, nil
}
