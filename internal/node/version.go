package node

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pkfs/pkfs/keyring"
)

// FormatVersion is the on-disk format this pkfs reads and writes.
const FormatVersion = 1

// Errors about the node path itself.
var (
	ErrNoNode             = errors.New("no node at the node path (run `pkfs init`)")
	ErrNodeExists         = errors.New("a node already exists at the node path (use --fresh to replace it)")
	ErrUnsupportedVersion = errors.New("unsupported node path format")
	ErrIncomplete         = errors.New("the node path holds an incomplete node (run `pkfs init --fresh`)")
)

// Paths of a node path.
func versionPath(p string) string { return filepath.Join(p, "VERSION") }

// KeysDir returns the keyring directory of node path p.
func KeysDir(p string) string { return filepath.Join(p, "keys") }

// DBDir returns the database directory of node path p.
func DBDir(p string) string { return filepath.Join(p, "db") }

// Exists reports whether p holds a node (complete or not).
func Exists(p string) bool {
	if _, err := os.Stat(versionPath(p)); err == nil {
		return true
	}
	return keyring.Exists(KeysDir(p))
}

// checkVersion reads VERSION and refuses formats it does not know.
func checkVersion(p string) error {
	b, err := os.ReadFile(versionPath(p))
	if errors.Is(err, fs.ErrNotExist) {
		if keyring.Exists(KeysDir(p)) {
			return ErrIncomplete
		}
		return ErrNoNode
	}
	if err != nil {
		return err
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("%w: VERSION file is not a number", ErrUnsupportedVersion)
	}
	if v != FormatVersion {
		if v > FormatVersion {
			return fmt.Errorf("%w: version %d was written by a newer pkfs (this one reads %d)", ErrUnsupportedVersion, v, FormatVersion)
		}
		return fmt.Errorf("%w: version %d is unknown (this pkfs reads %d)", ErrUnsupportedVersion, v, FormatVersion)
	}
	if !keyring.Exists(KeysDir(p)) {
		return ErrIncomplete
	}
	return nil
}

func writeVersion(p string) error {
	return keyring.WriteFileAtomic(versionPath(p), []byte(strconv.Itoa(FormatVersion)+"\n"), 0o644)
}
