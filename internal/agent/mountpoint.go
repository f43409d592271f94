package agent

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// Errors about a mount point.
var (
	ErrMountPoint = errors.New("invalid mount point")
	ErrMounted    = errors.New("already mounted")
)

// mountInfo returns the filesystem type of the mount at dir, or "" when dir
// is not a mount point.
func mountInfo(dir string) string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 {
			continue
		}
		if unescapeMount(fields[4]) != dir {
			continue
		}
		for i, fl := range fields {
			if fl == "-" && i+1 < len(fields) {
				return fields[i+1]
			}
		}
	}
	return ""
}

func unescapeMount(s string) string {
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(s)
}

// checkMountPoint makes sure dir can be mounted on: an existing, empty
// directory, not mounted. A FUSE mount left by a crashed agent (its
// connection is gone) is cleared first.
func checkMountPoint(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	_, serr := os.Stat(abs)
	if errors.Is(serr, syscall.ENOTCONN) || errors.Is(serr, syscall.ECONNABORTED) {
		if err := clearStale(abs); err != nil {
			return "", fmt.Errorf("%w: %s: a stale mount could not be cleared: %v", ErrMountPoint, abs, err)
		}
		_, serr = os.Stat(abs)
	}
	if serr != nil {
		if errors.Is(serr, os.ErrNotExist) {
			return "", fmt.Errorf("%w: %s does not exist", ErrMountPoint, abs)
		}
		return "", fmt.Errorf("%w: %s: %v", ErrMountPoint, abs, serr)
	}
	if t := mountInfo(abs); strings.HasPrefix(t, "fuse") {
		return "", fmt.Errorf("%w: %s is already a FUSE mount", ErrMounted, abs)
	}
	ents, err := os.ReadDir(abs)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrMountPoint, abs, err)
	}
	if len(ents) > 0 {
		return "", fmt.Errorf("%w: %s is not empty", ErrMountPoint, abs)
	}
	return abs, nil
}

// clearStale unmounts a dead FUSE mount.
func clearStale(dir string) error {
	if os.Geteuid() == 0 {
		return syscall.Unmount(dir, syscall.MNT_DETACH)
	}
	out, err := exec.Command("fusermount3", "-u", "-z", dir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("fusermount3: %s", strings.TrimSpace(string(out)))
	}
	return nil
}

// ClearStaleMount clears dir when it is a FUSE mount whose agent is gone.
// It reports whether it cleared something.
func ClearStaleMount(dir string) bool {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	if _, err := os.Stat(abs); errors.Is(err, syscall.ENOTCONN) || errors.Is(err, syscall.ECONNABORTED) {
		return clearStale(abs) == nil
	}
	return false
}
