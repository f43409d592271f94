package keyring

import (
	"path/filepath"

	"github.com/pkfs/pkfs/internal/cryptocore"
)

// CheckPassword returns nil when password is the one the root key is sealed
// under now, else ErrWrongPassword (ErrEmptyPassword for an empty one).
//
// The check is made against private.key as this keyring unlocked or last
// wrote it, kept in memory, never against the file on disk: any process of
// the user can replace that file with one sealed under a password of its
// own. The seed it opens must also be this keyring's own, compared in
// constant time. Each call costs one Argon2id derivation at the stored
// costs; that cost is the only rate limit here (callers reachable by other
// processes add their own delay).
func (k *Keyring) CheckPassword(password []byte) error {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.checkPassword(password)
}

// checkPassword is CheckPassword with k.mu held.
func (k *Keyring) checkPassword(password []byte) error {
	if k.closed {
		return ErrLocked
	}
	if len(password) == 0 {
		return ErrEmptyPassword
	}
	seed, _, err := openSeed(k.sealed, password)
	if err != nil {
		return err
	}
	defer clear(seed)
	own := k.priv.Seed()
	defer clear(own)
	if !cryptocore.ConstantTimeEqual(seed, own) {
		return ErrWrongPassword
	}
	return nil
}

// ChangePassword re-seals the root key under newPassword with the costs p,
// once current has proved to be the password it is sealed under now (see
// CheckPassword); otherwise it returns ErrWrongPassword and writes nothing.
// Any costs within the limits are accepted, lower ones too: whoever knows
// the current password can open the key and re-seal it as they like
// anyway. The key itself, the node ID and the data key do not change.
func (k *Keyring) ChangePassword(current, newPassword []byte, p Params) error {
	if len(newPassword) == 0 {
		return ErrEmptyPassword
	}
	if err := p.Validate(); err != nil {
		return err
	}
	k.pwMu.Lock()
	defer k.pwMu.Unlock()
	b, err := k.resealWith(current, newPassword, p)
	if err != nil {
		return err
	}
	if err := WriteFileAtomic(filepath.Join(k.dir, PrivateKeyFile), b, 0o600); err != nil {
		return err
	}
	k.mu.Lock()
	k.sealed = b
	k.mu.Unlock()
	return nil
}

// resealWith checks current and seals the root key under newPassword.
func (k *Keyring) resealWith(current, newPassword []byte, p Params) ([]byte, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if err := k.checkPassword(current); err != nil {
		return nil, err
	}
	seed := k.priv.Seed()
	defer clear(seed)
	return sealSeed(seed, newPassword, p)
}
