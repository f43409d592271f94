package integration

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"syscall"
)

// peakrssMain is the helper command `peakrss FILE PROGRAM [ARGS...]`: it
// runs PROGRAM with this process's standard streams and environment, writes
// PROGRAM's peak resident memory in bytes to FILE, and exits with PROGRAM's
// exit code. A test cannot measure that itself: on Linux a child's
// ru_maxrss starts at the resident size of the process that forked it, and
// a test binary (under the race detector, after other tests) is large; this
// helper is a fresh, small process.
func peakrssMain() {
	if len(os.Args) < 3 {
		fail("usage: peakrss FILE PROGRAM [ARGS...]")
	}
	cmd := exec.Command(os.Args[2], os.Args[3:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	code := 0
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			fail("peakrss: %v", err)
		}
		code = ee.ExitCode()
	}
	rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10 // KiB on Linux
	if err := os.WriteFile(os.Args[1], []byte(strconv.FormatInt(rss, 10)), 0o600); err != nil {
		fail("peakrss: %v", err)
	}
	os.Exit(code)
}
