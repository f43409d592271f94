package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The watchdog of secrets edit. The editor needs a path to save to, so the
// copy of the secret lives in a directory on a tmpfs, and pkfs removes it
// when the editor exits or pkfs is stopped by a signal it can catch. A
// SIGKILL cannot be caught: for it, a second pkfs process (this one, run as
// `pkfs __pkfs-edit-watchdog BASE`) makes the directory, in a session of
// its own so that signals to the terminal's process group miss it, and
// watches a pipe from the editing pkfs. When that pipe ends (pkfs exited,
// however it died) the watchdog stops the editor (SIGTERM, then SIGKILL),
// overwrites and removes the directory, and exits. The watchdog only ever
// removes the directory it made itself.
//
// Protocol, one line each: the watchdog says "dir PATH" once it made the
// directory; pkfs says "pid N" once the editor runs, and the watchdog
// answers "ok" once it holds a pidfd of it (pkfs has not reaped the editor
// then, so the pid is the editor's); then pkfs closes the pipe when done.

// watchdogArg is the hidden first argument that runs the watchdog.
const watchdogArg = "__pkfs-edit-watchdog"

// editorStopWait is how long the watchdog waits for the editor to exit
// after each signal.
const editorStopWait = 5 * time.Second

// editWatchdog is the editing pkfs's side of a running watchdog.
type editWatchdog struct {
	cmd  *exec.Cmd
	dir  string
	to   io.WriteCloser
	from *bufio.Reader
}

// startEditWatchdog starts a watchdog that makes a directory under base.
func startEditWatchdog(base string) (*editWatchdog, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, watchdogArg, base)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	to, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	w := &editWatchdog{cmd: cmd, to: to, from: bufio.NewReader(out)}
	line, err := w.from.ReadString('\n')
	dir, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "dir ")
	if err != nil || !ok || filepath.Dir(dir) != filepath.Clean(base) || !strings.HasPrefix(filepath.Base(dir), "pkfs-edit-") {
		w.close()
		return nil, fmt.Errorf("the edit watchdog did not start: %q %v", line, err)
	}
	w.dir = dir
	return w, nil
}

// watch tells the watchdog the editor's pid and waits until it holds it.
func (w *editWatchdog) watch(pid int) error {
	if _, err := fmt.Fprintf(w.to, "pid %d\n", pid); err != nil {
		return fmt.Errorf("the edit watchdog stopped: %w", err)
	}
	if line, err := w.from.ReadString('\n'); err != nil || line != "ok\n" {
		return fmt.Errorf("the edit watchdog stopped: %q %v", line, err)
	}
	return nil
}

// close wipes the directory, ends the pipe and reaps the watchdog.
func (w *editWatchdog) close() {
	if w.dir != "" {
		wipeDir(w.dir)
	}
	w.to.Close()
	_ = w.cmd.Wait()
}

// editWatchdogMain is the watchdog process; it returns its exit code.
func editWatchdogMain(args []string) int {
	// The editing pkfs may be gone when we write to it; terminal signals
	// are not for us (we have no terminal); SIGTERM stops us like EOF.
	signal.Ignore(syscall.SIGPIPE, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT)
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "pkfs: the edit watchdog takes one directory")
		return ExitUsage
	}
	dir, err := os.MkdirTemp(args[0], "pkfs-edit-*")
	if err != nil {
		return ExitOther
	}
	defer wipeDir(dir)
	if _, err := fmt.Fprintf(os.Stdout, "dir %s\n", dir); err != nil {
		return ExitOther
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var ed *watchedEditor
	defer func() { ed.stop() }() // before the directory is wiped
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				return ExitOK
			}
			if pid, err := parseWatchdogPid(l); err == nil && ed == nil {
				ed = watchEditor(pid)
				fmt.Fprintln(os.Stdout, "ok")
			}
		case <-term:
			return ExitOK
		}
	}
}

// parseWatchdogPid reads a "pid N" line.
func parseWatchdogPid(line string) (int, error) {
	s, ok := strings.CutPrefix(line, "pid ")
	if !ok {
		return 0, errors.New("not a pid line")
	}
	pid, err := strconv.ParseInt(s, 10, 32)
	if err != nil || pid <= 1 || strconv.FormatInt(pid, 10) != s {
		return 0, fmt.Errorf("bad pid %q", s)
	}
	return int(pid), nil
}

// watchedEditor is the editor process, by pidfd where the kernel has them.
type watchedEditor struct {
	pid, fd int
}

func watchEditor(pid int) *watchedEditor {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		fd = -1
	}
	return &watchedEditor{pid: pid, fd: fd}
}

// stop ends the editor if it still runs: SIGTERM (editors restore the
// terminal), then SIGKILL.
func (e *watchedEditor) stop() {
	if e == nil {
		return
	}
	if e.fd >= 0 {
		defer unix.Close(e.fd)
	}
	for _, sig := range []unix.Signal{0, unix.SIGTERM, unix.SIGKILL} {
		if sig != 0 {
			e.signal(sig)
		}
		if e.exited(sig != 0) {
			return
		}
	}
}

func (e *watchedEditor) signal(sig unix.Signal) {
	if e.fd >= 0 {
		_ = unix.PidfdSendSignal(e.fd, sig, nil, 0)
	} else {
		_ = unix.Kill(e.pid, sig)
	}
}

// exited reports whether the editor has exited, waiting up to
// editorStopWait for it when wait is set.
func (e *watchedEditor) exited(wait bool) bool {
	timeout := 0
	if wait {
		timeout = int(editorStopWait / time.Millisecond)
	}
	if e.fd >= 0 {
		fds := []unix.PollFd{{Fd: int32(e.fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, timeout)
		for errors.Is(err, unix.EINTR) {
			n, err = unix.Poll(fds, timeout)
		}
		if err == nil {
			return n > 0
		}
	}
	deadline := time.Now().Add(time.Duration(timeout) * time.Millisecond)
	for {
		if errors.Is(unix.Kill(e.pid, 0), unix.ESRCH) {
			return true
		}
		if !time.Now().Before(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}
