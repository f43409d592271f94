package integration

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// secrets edit keeps its plaintext copy in a directory on /dev/shm while
// the editor runs. Whatever stops pkfs there — SIGKILL, which it cannot
// catch, SIGHUP of a closed terminal, SIGTERM — the copy, the editor's
// swap file and the secret's name must not stay behind, and neither may
// the editor or any helper process (issue 9.8).
func TestSecretsEditLeavesNothingWhenKilled(t *testing.T) {
	if !shmIsTmpfs() {
		t.Skip("/dev/shm is not a tmpfs: secrets edit uses a memfd")
	}
	bin := pkfsBinDir(t)
	cases := []struct {
		name   string
		sig    syscall.Signal
		editor string
	}{
		{"SIGKILL", syscall.SIGKILL, "sh"},
		{"SIGHUP", syscall.SIGHUP, "sh"},
		{"SIGTERM", syscall.SIGTERM, "sh"},
		{"SIGKILL-vim", syscall.SIGKILL, "vim"},
		{"SIGHUP-vim", syscall.SIGHUP, "vim"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.editor == "vim" {
				needPrograms(t, "vim")
			}
			n := newNode(t, bin)
			tag := randomTag(t)
			secretName, content := "name-"+tag, "sentinel-edit-kill-"+tag
			n.ok(nil, "vaults", "create", "v")
			n.ok(strings.NewReader(content+"\n"), "secrets", "write", "v:db/"+secretName)
			work := t.TempDir()
			info := filepath.Join(work, "edinfo")
			var editor string
			switch tc.editor {
			case "sh":
				script := filepath.Join(work, "blocking-editor")
				// writes its path and pid, then waits (as the same process)
				body := fmt.Sprintf("#!/bin/sh\nprintf '%%s\\n%%s\\n' \"$1\" $$ > %s.tmp\nmv %s.tmp %s\nexec sleep 300\n", info, info, info)
				if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
					t.Fatal(err)
				}
				editor = script
			case "vim":
				// vim in Ex mode with its swap file beside the copy, blocked
				// in :sleep after it said where it is.
				editor = fmt.Sprintf(`vim -u NONE -i NONE -N -es -c 'set directory=.' `+
					`-c 'call writefile([expand("%%:p"), string(getpid())], "%s.tmp")' -c 'call rename("%s.tmp", "%s")' -c 'sleep 300'`,
					info, info, info)
			}
			tmp := filepath.Join(work, "tmp")
			if err := os.Mkdir(tmp, 0o700); err != nil {
				t.Fatal(err)
			}
			cmd := n.command("secrets", "edit", "v:db/"+secretName)
			cmd.Env = append(cmd.Env, "EDITOR="+editor, "VISUAL=", "TMPDIR="+tmp)
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
			// a file, not a pipe: an editor left running must not keep
			// Wait from returning
			out, err := os.Create(filepath.Join(work, "out"))
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			cmd.Stdout, cmd.Stderr = out, out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{}) // closed once pkfs has exited
			go func() { _ = cmd.Wait(); close(done) }()
			var copyPath string
			var editorPid int
			t.Cleanup(func() {
				if editorPid > 0 && !peerWaitGone(editorPid, 0) {
					_ = syscall.Kill(editorPid, syscall.SIGKILL)
				}
				_ = cmd.Process.Kill()
				<-done
				if copyPath != "" {
					os.RemoveAll(filepath.Dir(copyPath))
				}
			})
			waitFor(t, 60*time.Second, "the editor to start", func() bool {
				b, err := os.ReadFile(info)
				if err != nil {
					return false
				}
				f := strings.Fields(string(b))
				if len(f) != 2 {
					return false
				}
				copyPath = f[0]
				editorPid, _ = strconv.Atoi(f[1])
				return true
			})
			// While the editor runs, the copy is there (else this test
			// proves nothing) and so are pkfs's helpers.
			if b, err := os.ReadFile(copyPath); err != nil || !strings.Contains(string(b), content) {
				t.Fatalf("the copy %s while editing: %q %v", copyPath, b, err)
			}
			if !strings.HasPrefix(copyPath, "/dev/shm/") || filepath.Base(copyPath) != secretName {
				t.Fatalf("the copy is at %s", copyPath)
			}
			helpers := childrenOf(cmd.Process.Pid)
			if tc.editor == "vim" {
				waitFor(t, 30*time.Second, "vim's swap file", func() bool {
					m, _ := filepath.Glob(filepath.Join(filepath.Dir(copyPath), ".*.sw?"))
					return len(m) > 0
				})
			}

			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			select {
			case <-done:
			case <-time.After(60 * time.Second):
				t.Fatalf("pkfs still runs a minute after %v", tc.sig)
			}
			waitFor(t, 60*time.Second, "the copy's directory to go", func() bool {
				_, err := os.Lstat(filepath.Dir(copyPath))
				return errors.Is(err, fs.ErrNotExist)
			})
			for _, pid := range append(helpers, editorPid) {
				if !peerWaitGone(pid, 30*time.Second) {
					t.Errorf("process %d (%s) still runs after pkfs got %v", pid, cmdline(pid), tc.sig)
				}
			}
			for _, dir := range []string{"/dev/shm", tmp, n.path} {
				if hits := filesHolding(dir, secretName, content); len(hits) > 0 {
					t.Errorf("after %v, %s holds the secret's name or content: %q", tc.sig, dir, hits)
				}
			}
			if hits := filesNamed(os.TempDir(), secretName); len(hits) > 0 {
				t.Errorf("after %v, %s holds the secret's name: %q", tc.sig, os.TempDir(), hits)
			}
		})
	}
}

func shmIsTmpfs() bool {
	var st syscall.Statfs_t
	return syscall.Statfs("/dev/shm", &st) == nil && st.Type == 0x01021994
}

func randomTag(t *testing.T) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// waitFor polls fn until it is true, for at most limit.
func waitFor(t *testing.T, limit time.Duration, what string, fn func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !fn() {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: not within %v", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// childrenOf lists the children of pid (every thread's).
func childrenOf(pid int) []int {
	var out []int
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for _, s := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(s); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}

func cmdline(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.ReplaceAll(string(b), "\x00", " ")
}

// filesHolding lists the files under dir whose name contains name or whose
// content contains content.
func filesHolding(dir, name, content string) []string {
	var hits []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if strings.Contains(d.Name(), name) {
			hits = append(hits, p)
			return nil
		}
		if info, err := d.Info(); err == nil && d.Type().IsRegular() && info.Size() <= 1<<20 {
			if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(content)) {
				hits = append(hits, p)
			}
		}
		return nil
	})
	return hits
}

// filesNamed lists the entries under dir whose name contains name.
func filesNamed(dir, name string) []string {
	var hits []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), name) {
			hits = append(hits, p)
		}
		return nil
	})
	return hits
}
