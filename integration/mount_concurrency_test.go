package integration

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// A program keeps a file open and writes it in pieces (cat appending its
// input to the file) while other processes read it: each reader sees every
// piece written so far, readers commit nothing, and the writer's close is
// one commit of the whole content. (A shell writing with `printf >&3`
// would not do: each redirection of a builtin dups the descriptor and
// closes the dup, and every close is a commit.)
func TestMountOpenWhileRead(t *testing.T) {
	t.Parallel()
	needPrograms(t, "sh", "cat")
	n := newMountNode(t)
	mnt := n.newMount()
	noErr(t, os.Mkdir(filepath.Join(mnt, "v"), 0o700))
	file := filepath.Join(mnt, "v", "app.log")
	before := n.commits("v")

	w := exec.Command("sh", "-c", `exec cat >>"$1"`, "sh", file)
	w.Env = n.env
	stdin, err := w.StdinPipe()
	noErr(t, err)
	noErr(t, w.Start())
	t.Cleanup(func() {
		stdin.Close()
		w.Process.Kill()
		w.Wait()
	})
	// waitSize waits until the writer has written size bytes.
	waitSize := func(size int) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			fi, err := os.Stat(file)
			if err == nil && fi.Size() == int64(size) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the writer did not write %d bytes within 20s (stat: %v, %v)", size, fi, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	var tail *os.File // a reader that keeps its descriptor open, like tail -f
	var want, tailed strings.Builder
	for i := 0; i < 6; i++ {
		line := fmt.Sprintf("piece %d %s\n", i, strings.Repeat("#", i*300))
		_, err := io.WriteString(stdin, line)
		noErr(t, err)
		want.WriteString(line)
		waitSize(want.Len())
		if tail == nil {
			tail, err = os.Open(file)
			noErr(t, err)
			defer tail.Close()
		}
		if got := n.mustRun("cat", file); got != want.String() {
			t.Fatalf("piece %d: cat reads %d bytes, want %d", i, len(got), want.Len())
		}
		b, err := io.ReadAll(tail)
		noErr(t, err)
		tailed.Write(b)
		if tailed.String() != want.String() {
			t.Fatalf("piece %d: the open reader has %d bytes, want %d", i, tailed.Len(), want.Len())
		}
	}
	if r := n.pkfs("secrets", "cat", "v:app.log"); r.code != 4 {
		t.Errorf("before the writer's close, the file is not committed: want exit 4, got %v", r)
	}
	if got := n.commits("v"); got != before {
		t.Errorf("readers made %d commits while the writer had the file open", got-before)
	}
	noErr(t, stdin.Close())
	noErr(t, w.Wait())
	if got := n.commits("v"); got != before+1 {
		t.Errorf("the writer's session made %d commits, want 1", got-before)
	}
	if got := n.mustPkfs("secrets", "cat", "v:app.log"); got != want.String() {
		t.Errorf("committed content: %d bytes, want %d", len(got), want.Len())
	}
}

// writerOps is what one parallel writer does in dir: create files, rewrite
// some with O_TRUNC, append to one, rename one, remove one, and make a
// directory. It returns the files it leaves and their content.
func writerOps(dir string, w int) (map[string]string, error) {
	left := map[string]string{}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	for i := 0; i < 12; i++ {
		p := filepath.Join(dir, fmt.Sprintf("f%02d", i))
		c := fmt.Sprintf("writer %d file %d\n%s", w, i, strings.Repeat("w", (w*131+i*17)%3000))
		if err := os.WriteFile(p, []byte(c), 0o600); err != nil {
			return nil, err
		}
		left[p] = c
		if i%4 == 3 { // rewrite
			c = "rewritten " + c
			if err := os.WriteFile(p, []byte(c), 0o600); err != nil {
				return nil, err
			}
			left[p] = c
		}
	}
	f, err := os.OpenFile(filepath.Join(dir, "f00"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, err
	}
	if _, err := f.WriteString("appended\n"); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	left[filepath.Join(dir, "f00")] += "appended\n"
	if err := os.Rename(filepath.Join(dir, "f01"), filepath.Join(dir, "renamed")); err != nil {
		return nil, err
	}
	left[filepath.Join(dir, "renamed")] = left[filepath.Join(dir, "f01")]
	delete(left, filepath.Join(dir, "f01"))
	if err := os.Remove(filepath.Join(dir, "f02")); err != nil {
		return nil, err
	}
	delete(left, filepath.Join(dir, "f02"))
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
		return nil, err
	}
	p := filepath.Join(dir, "sub", "last")
	left[p] = fmt.Sprintf("last of %d\n", w)
	return left, os.WriteFile(p, []byte(left[p]), 0o600)
}

// runWriters runs 8 writers at once, writer w in dirOf(w), while a reader
// lists the tree and the CLI writes through the agent; then checks every
// file through the mount.
func runWriters(t *testing.T, n *mountNode, mnt string, dirOf func(w int) string) map[string]string {
	t.Helper()
	var mu sync.Mutex
	all := map[string]string{}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	readerDone := make(chan struct{})
	go func() { // a reader walking the tree all along
		defer close(readerDone)
		for {
			select {
			case <-stop:
				return
			default:
			}
			filepath.WalkDir(filepath.Join(mnt, "v"), func(string, os.DirEntry, error) error { return nil })
		}
	}()
	cliDone := make(chan cmdResult, 1)
	go func() {
		cliDone <- n.pkfsIn("from the CLI\n", "secrets", "write", "v:cli-written")
	}()
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			left, err := writerOps(dirOf(w), w)
			if err != nil {
				t.Errorf("writer %d: %v", w, err)
				return
			}
			mu.Lock()
			for k, v := range left {
				all[k] = v
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	close(stop)
	<-readerDone
	if r := <-cliDone; r.code != 0 {
		t.Errorf("secrets write during the writers: %v", r)
	}
	all[filepath.Join(mnt, "v", "cli-written")] = "from the CLI\n"
	checkContents(t, all)
	return all
}

// checkFiles checks that each file holds its content.
func checkContents(t *testing.T, files map[string]string) {
	t.Helper()
	bad := 0
	for p, want := range files {
		got, err := os.ReadFile(p)
		if err != nil || string(got) != want {
			bad++
			if bad < 5 {
				t.Errorf("%s: %d bytes, %v; want %d bytes", p, len(got), err, len(want))
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d files wrong", bad, len(files))
	}
}

// 8 parallel writers in one vault, then in 8 vaults (the agent is built
// with -race when the tests run with it, and its log must show no race):
// every write lands, survives a remount, and the vaults verify.
func TestMountParallelWriters(t *testing.T) {
	t.Parallel()
	n := newMountNode(t)
	mnt := n.mkdir()
	st := n.mount(mnt)
	noErr(t, os.Mkdir(filepath.Join(mnt, "v"), 0o700))
	before := n.commits("v")
	one := runWriters(t, n, mnt, func(w int) string { return filepath.Join(mnt, "v", fmt.Sprintf("w%d", w)) })
	// 8 writers × 21 changes, and the CLI's one; bursts may share
	// commits. (No upper bound: the writers are goroutines of a process
	// that forks, and a child closing an inherited descriptor at exec is a
	// close, which commits what is written so far.)
	if got := n.commits("v") - before; got < 8 {
		t.Errorf("%d commits for the writers of one vault", got)
	}
	for w := 0; w < 8; w++ {
		noErr(t, os.Mkdir(filepath.Join(mnt, fmt.Sprintf("p%d", w)), 0o700))
	}
	many := runWriters(t, n, mnt, func(w int) string { return filepath.Join(mnt, fmt.Sprintf("p%d", w), "dir") })

	n.umount(mnt, st.PID)
	n.mount(mnt)
	checkContents(t, one)
	checkContents(t, many)
	n.verify("v")
	for w := 0; w < 8; w++ {
		n.verify(fmt.Sprintf("p%d", w))
	}
}
