package cryptocore

import (
	"golang.org/x/sys/unix"
)

// Harden disables core dumps and ptrace attachment of the process, so a crash
// or another process of the same user cannot read key material from memory.
// Errors are ignored: it is best effort on systems that refuse.
func Harden() {
	_ = unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: 0, Max: 0})
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
}

// Lock keeps b in RAM (mlock) where the OS allows it, so key material is not
// swapped to disk. It reports whether the memory was locked.
func Lock(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	return unix.Mlock(b) == nil
}

// Unlock zeroes b and releases the lock taken by Lock.
func Unlock(b []byte) {
	clear(b)
	if len(b) > 0 {
		_ = unix.Munlock(b)
	}
}
