package node

import (
	"errors"
	"fmt"
	"os"

	"github.com/pkfs/pkfs/internal/kvstore"
	"github.com/pkfs/pkfs/keyring"
)

// Node is an open node path: the lock, the unlocked keyring and the store.
type Node struct {
	Path    string
	Keyring *keyring.Keyring
	DB      *kvstore.DB
	lock    *Lock
}

// InitOptions say how to create a node.
type InitOptions struct {
	Password     []byte
	Params       keyring.Params
	RecoveryCode string // restore from this code instead of a fresh one
	Fresh        bool   // replace an existing node
}

// InitResult is what init reports.
type InitResult struct {
	NodeID       keyring.NodeID
	RecoveryCode string // empty when an existing node was restored
	Restored     bool
}

// Init creates a node at p, or restores one from its recovery code. An
// existing node is replaced only with Fresh; a recovery code for the node
// that exists re-seals its key under the new password and keeps its data.
// The returned node is open.
func Init(p string, o InitOptions) (*Node, InitResult, error) {
	var res InitResult
	if len(o.Password) == 0 {
		return nil, res, keyring.ErrEmptyPassword
	}
	if err := o.Params.Validate(); err != nil {
		return nil, res, err
	}
	lock, err := Acquire(p)
	if err != nil {
		return nil, res, err
	}
	ok := false
	defer func() {
		if !ok {
			lock.Release()
		}
	}()
	exists := Exists(p)
	if exists && o.RecoveryCode != "" && !o.Fresh && checkVersion(p) == nil {
		kr, err := keyring.Restore(KeysDir(p), o.RecoveryCode, o.Password, o.Params)
		if err != nil {
			return nil, res, err
		}
		n, err := openWith(p, lock, kr)
		if err != nil {
			return nil, res, err
		}
		ok = true
		return n, InitResult{NodeID: kr.NodeID(), Restored: true}, nil
	}
	if exists && !o.Fresh {
		return nil, res, ErrNodeExists
	}
	if o.RecoveryCode != "" {
		if _, err := keyring.SeedFromRecoveryCode(o.RecoveryCode); err != nil {
			return nil, res, err // check before anything is removed
		}
	}
	if exists {
		if err := removeNode(p); err != nil {
			return nil, res, err
		}
	}
	kr, code, err := keyring.Create(KeysDir(p), o.Password, o.Params, o.RecoveryCode)
	if err != nil {
		return nil, res, err
	}
	if err := writeVersion(p); err != nil {
		kr.Close()
		return nil, res, err
	}
	n, err := openWith(p, lock, kr)
	if err != nil {
		return nil, res, err
	}
	ok = true
	res = InitResult{NodeID: kr.NodeID(), RecoveryCode: code}
	if o.RecoveryCode != "" {
		res.RecoveryCode, res.Restored = "", true
	}
	return n, res, nil
}

// removeNode deletes only what a node consists of, never other files that
// may share the directory.
func removeNode(p string) error {
	for _, f := range []string{versionPath(p), KeysDir(p), DBDir(p)} {
		if err := os.RemoveAll(f); err != nil {
			return fmt.Errorf("failed to remove the old node: %w", err)
		}
	}
	return nil
}

// Open locks node path p, unlocks its keyring with password and opens its
// store.
func Open(p string, password []byte) (*Node, error) {
	if err := checkVersion(p); err != nil {
		return nil, err
	}
	lock, err := Acquire(p)
	if err != nil {
		return nil, err
	}
	kr, err := keyring.Unlock(KeysDir(p), password)
	if err != nil {
		lock.Release()
		return nil, err
	}
	return openWith(p, lock, kr)
}

func openWith(p string, lock *Lock, kr *keyring.Keyring) (*Node, error) {
	dk, err := kr.DataKey()
	if err != nil {
		kr.Close()
		lock.Release()
		return nil, err
	}
	db, err := kvstore.Open(DBDir(p), dk)
	dk.Wipe()
	if err != nil {
		kr.Close()
		lock.Release()
		return nil, err
	}
	return &Node{Path: p, Keyring: kr, DB: db, lock: lock}, nil
}

// CheckOpenable reports, without the password, whether p holds a node this
// pkfs can open and whether another process holds it.
func CheckOpenable(p string) error {
	if err := checkVersion(p); err != nil {
		return err
	}
	l, err := Acquire(p)
	if err != nil {
		return err
	}
	l.Release()
	return nil
}

// Close closes the store, wipes the keys and releases the lock.
func (n *Node) Close() error {
	err := n.DB.Close()
	n.Keyring.Close()
	n.lock.Release()
	return err
}

// IsNodeError reports whether err is about the node path rather than its data.
func IsNodeError(err error) bool {
	return errors.Is(err, ErrNoNode) || errors.Is(err, ErrNodeExists) || errors.Is(err, ErrUnsupportedVersion) ||
		errors.Is(err, ErrInUse) || errors.Is(err, ErrIncomplete)
}
