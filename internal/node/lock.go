package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrInUse is returned when another process has the node path open.
var ErrInUse = errors.New("node path is in use")

// InUseError names the process that holds a node path.
type InUseError struct {
	Holder string // "pid 1234 on host h", as the holder wrote it
}

func (e *InUseError) Error() string {
	if e.Holder == "" {
		return ErrInUse.Error() + " by another process"
	}
	return ErrInUse.Error() + " by " + e.Holder
}

func (e *InUseError) Unwrap() error { return ErrInUse }

// Lock is an exclusive hold on a node path.
type Lock struct{ f *os.File }

const lockName = "pkfs.lock"

// Acquire takes the node path's lock without waiting. When another process
// holds it, the error is an *InUseError naming that process.
func Acquire(p string) (*Lock, error) {
	if err := os.MkdirAll(p, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(p, lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("failed to open lock file: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		b := make([]byte, 256)
		n, _ := f.ReadAt(b, 0)
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, &InUseError{Holder: strings.TrimSpace(string(b[:n]))}
		}
		return nil, fmt.Errorf("failed to lock node path: %w", err)
	}
	host, _ := os.Hostname()
	_ = f.Truncate(0)
	_, _ = f.WriteAt(fmt.Appendf(nil, "pid %d (%s) on host %s\n", os.Getpid(), filepath.Base(os.Args[0]), host), 0)
	return &Lock{f: f}, nil
}

// Release drops the lock.
func (l *Lock) Release() {
	if l == nil || l.f == nil {
		return
	}
	_ = l.f.Truncate(0)
	_ = unix.Flock(int(l.f.Fd()), unix.LOCK_UN)
	l.f.Close()
	l.f = nil
}
