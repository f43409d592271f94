package integration

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// startPkfs starts the built pkfs with an open, silent standard input, so
// that a command reading "-" waits.
func startPkfs(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(filepath.Join(pkfsBinDir(t), "pkfs"), args...)
	cmd.Env = append(os.Environ(), "PK_PASSWORD=pw", "PK_NODE_PATH="+filepath.Join(t.TempDir(), "node"))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, &stderr
}

// waitExit waits for cmd and returns its exit code, failing after 10s.
func waitExit(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(10 * time.Second):
		t.Fatal("pkfs did not exit within 10s of the signal")
		return -1
	}
}

// One SIGINT stops a command that waits for its input: exit 130.
func TestSIGINTExits130(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		cmd, stderr := startPkfs(t, "keys", "sign", "-")
		time.Sleep(500 * time.Millisecond) // past the signal handler's setup
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		if code := waitExit(t, cmd); code != 130 {
			t.Errorf("%v: exit code %d, want 130 (stderr %q)", sig, code, stderr)
		}
		if got := stderr.String(); got != "pkfs: interrupted\n" {
			t.Errorf("%v: stderr %q", sig, got)
		}
	}
}
