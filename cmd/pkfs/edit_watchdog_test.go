package main

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestMain lets the test binary serve as the edit watchdog, as pkfs does.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == watchdogArg {
		os.Exit(editWatchdogMain(os.Args[2:]))
	}
	os.Exit(m.Run())
}

// When the editing pkfs goes away without a word (its end of the pipe
// closes, as when it is killed), the watchdog stops the editor and removes
// the directory with what is in it.
func TestEditWatchdogCleansUpWhenThePipeEnds(t *testing.T) {
	base := t.TempDir()
	w, err := startEditWatchdog(base)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(w.dir); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 || filepath.Dir(w.dir) != base {
		t.Fatalf("the watchdog's directory %s: %v %v", w.dir, fi, err)
	}
	if err := os.WriteFile(filepath.Join(w.dir, "secret"), []byte("plaintext"), 0o600); err != nil {
		t.Fatal(err)
	}
	editor := exec.Command("sleep", "300")
	if err := editor.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = editor.Wait(); close(exited) }()
	defer func() { _ = editor.Process.Kill(); <-exited }()
	if err := w.watch(editor.Process.Pid); err != nil {
		t.Fatal(err)
	}
	w.to.Close() // not close(): that would wipe the directory itself
	select {
	case <-exited:
	case <-time.After(time.Minute):
		t.Fatal("the editor still runs a minute after the pipe ended")
	}
	if err := w.cmd.Wait(); err != nil {
		t.Fatalf("the watchdog: %v", err)
	}
	if _, err := os.Lstat(w.dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the directory is still there: %v", err)
	}
}

func FuzzParseWatchdogPid(f *testing.F) {
	for _, s := range []string{"pid 42", "pid 0", "pid 1", "pid -5", "pid 042", "pid +7", "pid 99999999999", "pid ", "42", "pid 42 ", "pid 4\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pid, err := parseWatchdogPid(s)
		if err != nil {
			return
		}
		if pid <= 1 || "pid "+strconv.Itoa(pid) != s {
			t.Fatalf("%q parsed as %d", s, pid)
		}
	})
}
