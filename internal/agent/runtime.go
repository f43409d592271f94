package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// RuntimeDir returns the directory of control sockets and agent logs:
// $XDG_RUNTIME_DIR/pkfs, else /tmp/pkfs-<uid>. It is created 0700 and must
// be owned by us and not writable by others.
func RuntimeDir() (string, error) {
	var dir string
	if x := os.Getenv("XDG_RUNTIME_DIR"); x != "" && filepath.IsAbs(x) {
		dir = filepath.Join(x, "pkfs")
	} else {
		dir = filepath.Join(os.TempDir(), fmt.Sprintf("pkfs-%d", os.Getuid()))
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("failed to create runtime dir: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return "", err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok || int(st.Uid) != os.Getuid() || fi.Mode().Perm()&0o077 != 0 {
		return "", errors.New("runtime dir " + dir + " is not a private directory of this user")
	}
	return dir, nil
}

// nodeKey names a node path's runtime files: a hash of its absolute path,
// symlinks resolved.
func nodeKey(nodePath string) string {
	abs, err := filepath.Abs(nodePath)
	if err != nil {
		abs = nodePath
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real // a node path reached through a symlink is the same node
	}
	sum := sha256.Sum256([]byte(filepath.Clean(abs)))
	return hex.EncodeToString(sum[:8])
}

// SocketPath returns the control socket of the agent of nodePath.
func SocketPath(nodePath string) (string, error) {
	dir, err := RuntimeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, nodeKey(nodePath)+".sock"), nil
}

// LogPath returns the log file of a background agent of nodePath.
func LogPath(nodePath string) (string, error) {
	dir, err := RuntimeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, nodeKey(nodePath)+".log"), nil
}
