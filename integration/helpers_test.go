package integration

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/pkfs/pkfs/internal/node"
)

// exitsMain is the helper command `exits CODE [-notty] PROGRAM ARGS...`: it
// runs PROGRAM with this process's standard streams and environment and
// succeeds only when PROGRAM exits with CODE. With -notty, PROGRAM runs in a
// new session without a controlling terminal, so it cannot prompt.
func exitsMain() {
	args := os.Args[1:]
	if len(args) < 2 {
		fail("usage: exits CODE [-notty] PROGRAM [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		fail("exits: bad exit code %q", args[0])
	}
	args = args[1:]
	notty := args[0] == "-notty"
	if notty {
		args = args[1:]
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if notty {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	}
	got := 0
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			fail("exits: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		fail("exits: %s exited with %d, want %d", args[0], got, want)
	}
}

// holdlockMain is the helper command `holdlock NODEPATH PIDFILE`: it takes
// the node path's lock exactly as a pkfs process does (node.Acquire), writes
// its pid to PIDFILE once it holds the lock, and keeps it until SIGINT or
// SIGTERM.
func holdlockMain() {
	if len(os.Args) != 3 {
		fail("usage: holdlock NODEPATH PIDFILE")
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	l, err := node.Acquire(os.Args[1])
	if err != nil {
		fail("holdlock: %v", err)
	}
	tmp := os.Args[2] + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		fail("holdlock: %v", err)
	}
	if err := os.Rename(tmp, os.Args[2]); err != nil {
		fail("holdlock: %v", err)
	}
	<-sigs
	l.Release()
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}
