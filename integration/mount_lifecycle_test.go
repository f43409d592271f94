package integration

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// pkfs umount of a busy mount (a process has its working directory there,
// a file is open with uncommitted writes): the agent commits the open
// file, detaches the mount and exits, and umount returns only then, so the
// mount point is free as soon as it returns.
func TestMountUmountBusy(t *testing.T) {
	t.Parallel()
	needPrograms(t, "sleep")
	n := newMountNode(t)
	mnt := n.mkdir()
	st := n.mount(mnt)
	v := filepath.Join(mnt, "v")
	noErr(t, os.Mkdir(v, 0o700))
	f, err := os.OpenFile(filepath.Join(v, "open"), os.O_WRONLY|os.O_CREATE, 0o600)
	noErr(t, err)
	defer f.Close()
	_, err = f.WriteString("written, not closed")
	noErr(t, err)
	busy := exec.Command("sleep", "120")
	busy.Dir = v
	noErr(t, busy.Start())
	t.Cleanup(func() { busy.Process.Kill(); busy.Wait() })

	n.umount(mnt, st.PID) // checks: not mounted, agent gone
	noErr(t, os.Remove(mnt))
	noErr(t, os.Mkdir(mnt, 0o700))
	n.mount(mnt)
	if got := fileContent(t, filepath.Join(v, "open")); got != "written, not closed" {
		t.Errorf("the file open at umount: %q", got)
	}
}

// SIGTERM and SIGINT to a foreground `pkfs mount`: the open file is
// committed, the mount is gone, pkfs exits 0.
func TestMountForegroundSignals(t *testing.T) {
	t.Parallel()
	n := newMountNode(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		mnt := n.mkdir()
		n.mu.Lock()
		n.mounts = append(n.mounts, mnt)
		n.mu.Unlock()
		cmd := exec.Command(n.bin, "mount", mnt, "--format", "json")
		cmd.Env = n.env
		stdout, err := cmd.StdoutPipe()
		noErr(t, err)
		noErr(t, cmd.Start())
		n.mu.Lock()
		n.agents = append(n.agents, cmd.Process.Pid)
		n.mu.Unlock()
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		line := make(chan string, 1)
		go func() { l, _ := bufio.NewReader(stdout).ReadString('\n'); line <- l }()
		var st agentStatus
		select {
		case l := <-line:
			if err := json.Unmarshal([]byte(l), &st); err != nil || st.PID != cmd.Process.Pid {
				t.Fatalf("%v: pkfs mount printed %q", sig, l)
			}
		case <-time.After(cmdTimeout):
			t.Fatalf("%v: pkfs mount did not say it was ready", sig)
		}
		name := strings.ToLower(sig.String()[:4]) // "term", "inte"
		p := filepath.Join(mnt, "v"+name, "open")
		noErr(t, os.MkdirAll(filepath.Dir(p), 0o700))
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE, 0o600)
		noErr(t, err)
		_, err = f.WriteString("pending at " + sig.String())
		noErr(t, err)

		noErr(t, cmd.Process.Signal(sig))
		if code := waitExit(t, cmd); code != 0 {
			t.Errorf("%v: pkfs mount exited %d", sig, code)
		}
		f.Close()
		if isMounted(mnt) {
			t.Fatalf("%v: %s is still mounted", sig, mnt)
		}
		if got := n.mustPkfs("secrets", "cat", "v"+name+":open"); got != "pending at "+sig.String() {
			t.Errorf("%v: the open file: %q", sig, got)
		}
	}
}
