package keyring

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/pkfs/pkfs/internal/cryptocore"
)

// Errors of the keyring. Callers test them with errors.Is.
var (
	ErrWrongPassword  = errors.New("wrong password")
	ErrEmptyPassword  = errors.New("empty password")
	ErrNoKeys         = errors.New("no keys: the node path holds no node")
	ErrKeysExist      = errors.New("keys already exist")
	ErrRecoveryOther  = errors.New("the recovery code belongs to another node")
	ErrInvalidMessage = errors.New("invalid signature")
	ErrLocked         = errors.New("keyring is locked")
)

// Keyring is an unlocked root identity. Its key material is locked in memory
// where the OS allows and wiped by Close.
type Keyring struct {
	dir     string
	id      NodeID
	mu      sync.RWMutex
	priv    ed25519.PrivateKey // mlocked
	dataKey *cryptocore.Key    // mlocked
	closed  bool
	// sealed is private.key as this keyring unlocked or last wrote it:
	// what a password is checked against (password.go). pwMu serialises
	// password changes.
	sealed []byte
	pwMu   sync.Mutex
}

// Exists reports whether dir (the keys directory) holds a key pair.
func Exists(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, PrivateKeyFile))
	return err == nil
}

// Create makes a new root key pair from a fresh recovery code (or from the
// given one when code is not empty), a new data key, and writes them under
// dir. It returns the unlocked keyring and the recovery code.
func Create(dir string, password []byte, p Params, code string) (*Keyring, string, error) {
	if len(password) == 0 {
		return nil, "", ErrEmptyPassword
	}
	if err := p.Validate(); err != nil {
		return nil, "", err
	}
	if code == "" {
		code = NewRecoveryCode()
	}
	seed, err := SeedFromRecoveryCode(code)
	if err != nil {
		return nil, "", err
	}
	defer clear(seed)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", err
	}
	dk := cryptocore.NewRandomKey()
	defer dk.Wipe()
	sealed, err := writeKeys(dir, seed, password, p, &dk, true)
	if err != nil {
		return nil, "", err
	}
	kr, err := newKeyring(dir, seed, dk, sealed)
	return kr, NormalizeRecoveryCode(code), err
}

// Restore re-seals the root key of an existing node under a new password,
// given its recovery code. The data key (and so all data) is kept.
func Restore(dir string, code string, password []byte, p Params) (*Keyring, error) {
	if len(password) == 0 {
		return nil, ErrEmptyPassword
	}
	seed, err := SeedFromRecoveryCode(code)
	if err != nil {
		return nil, err
	}
	defer clear(seed)
	id, err := ReadNodeID(dir)
	if err != nil {
		return nil, err
	}
	pub, _, _ := cryptocore.Ed25519FromSeed(seed)
	if !cryptocore.ConstantTimeEqual(pub, id[:]) {
		return nil, fmt.Errorf("%w: it gives %s, the node is %s", ErrRecoveryOther, mustID(pub), id)
	}
	b, err := os.ReadFile(filepath.Join(dir, DataKeyFile))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyFileDamaged, err)
	}
	dk, err := openDataKey(seed, b)
	if err != nil {
		return nil, err
	}
	defer dk.Wipe()
	sealed, err := writeKeys(dir, seed, password, p, &dk, false)
	if err != nil {
		return nil, err
	}
	return newKeyring(dir, seed, dk, sealed)
}

// Unlock opens the keyring under dir with password.
func Unlock(dir string, password []byte) (*Keyring, error) {
	if len(password) == 0 {
		return nil, ErrEmptyPassword
	}
	id, err := ReadNodeID(dir)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(dir, PrivateKeyFile))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyFileDamaged, err)
	}
	seed, _, err := openSeed(b, password)
	if err != nil {
		return nil, err
	}
	defer clear(seed)
	pub, _, err := cryptocore.Ed25519FromSeed(seed)
	if err != nil || !cryptocore.ConstantTimeEqual(pub, id[:]) {
		return nil, fmt.Errorf("%w: %s does not match %s", ErrKeyFileDamaged, PrivateKeyFile, PublicKeyFile)
	}
	db, err := os.ReadFile(filepath.Join(dir, DataKeyFile))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyFileDamaged, err)
	}
	dk, err := openDataKey(seed, db)
	if err != nil {
		return nil, err
	}
	defer dk.Wipe()
	return newKeyring(dir, seed, dk, b)
}

// ReadNodeID reads the node ID from public.key without the password.
func ReadNodeID(dir string) (NodeID, error) {
	b, err := os.ReadFile(filepath.Join(dir, PublicKeyFile))
	if errors.Is(err, fs.ErrNotExist) {
		return NodeID{}, ErrNoKeys
	}
	if err != nil {
		return NodeID{}, err
	}
	return parsePublicFile(b)
}

// writeKeys writes the key files and returns private.key as written.
func writeKeys(dir string, seed, password []byte, p Params, dk *cryptocore.Key, withData bool) ([]byte, error) {
	pub, _, err := cryptocore.Ed25519FromSeed(seed)
	if err != nil {
		return nil, err
	}
	priv, err := sealSeed(seed, password, p)
	if err != nil {
		return nil, err
	}
	pubJSON := fmt.Appendf(nil, "{\n  \"kty\": \"OKP\",\n  \"crv\": \"Ed25519\",\n  \"x\": %q\n}\n", PublicJWK(pub)["x"])
	if withData {
		d, err := sealDataKey(seed, *dk)
		if err != nil {
			return nil, err
		}
		if err := WriteFileAtomic(filepath.Join(dir, DataKeyFile), d, 0o600); err != nil {
			return nil, err
		}
		if err := WriteFileAtomic(filepath.Join(dir, PublicKeyFile), pubJSON, 0o644); err != nil {
			return nil, err
		}
	}
	return priv, WriteFileAtomic(filepath.Join(dir, PrivateKeyFile), priv, 0o600)
}

func newKeyring(dir string, seed []byte, dk cryptocore.Key, sealed []byte) (*Keyring, error) {
	pub, priv, err := cryptocore.Ed25519FromSeed(seed)
	if err != nil {
		return nil, err
	}
	kr := &Keyring{dir: dir, priv: priv, dataKey: new(cryptocore.Key), sealed: sealed}
	copy(kr.id[:], pub)
	*kr.dataKey = dk
	cryptocore.Lock(kr.priv)
	cryptocore.Lock(kr.dataKey.Bytes())
	return kr, nil
}

func mustID(pub []byte) NodeID { id, _ := NodeIDFromBytes(pub); return id }

// NodeID returns the node's ID.
func (k *Keyring) NodeID() NodeID { return k.id }

// DataKey returns a copy of the data key that unlocks the node's store.
func (k *Keyring) DataKey() (cryptocore.Key, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.closed {
		return cryptocore.Key{}, ErrLocked
	}
	return *k.dataKey, nil
}

// Sign signs msg with the root key.
func (k *Keyring) Sign(msg []byte) ([]byte, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.closed {
		return nil, ErrLocked
	}
	return cryptocore.Sign(k.priv, msg), nil
}

// PrivateKey returns the root private key, for the TLS certificate of the
// transport. Callers must not retain or log it beyond that use.
func (k *Keyring) PrivateKey() ed25519.PrivateKey {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.priv
}

// Decrypt opens a message sealed to this node's key with Encrypt.
func (k *Keyring) Decrypt(sealed []byte) ([]byte, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.closed {
		return nil, ErrLocked
	}
	return cryptocore.OpenSealed(k.priv, sealed)
}

// Close wipes the key material. The keyring cannot be used afterwards.
func (k *Keyring) Close() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return
	}
	k.closed = true
	cryptocore.Unlock(k.priv)
	cryptocore.Unlock(k.dataKey.Bytes())
}

// Verify checks a detached signature made by the node id.
func Verify(id NodeID, msg, sig []byte) error {
	if !cryptocore.Verify(id.PublicKey(), msg, sig) {
		return ErrInvalidMessage
	}
	return nil
}

// Encrypt seals msg to the node id (its X25519 form, as a sealed box).
func Encrypt(id NodeID, msg []byte) ([]byte, error) { return cryptocore.SealTo(id.PublicKey(), msg) }
