package keyring

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pkfs/pkfs/internal/cryptocore"
)

// File names under the keys directory.
const (
	PublicKeyFile  = "public.key"
	PrivateKeyFile = "private.key"
	DataKeyFile    = "db.key"
)

// ErrKeyFileDamaged is returned when a key file is truncated, garbled or
// inconsistent with the others.
var ErrKeyFileDamaged = errors.New("key file damaged")

const privateFormat = "pkfs-private-key-v1"

// privateFile is the JSON form of private.key.
type privateFile struct {
	Format string `json:"format"`
	KDF    string `json:"kdf"`
	Params Params `json:"params"`
	Salt   string `json:"salt"`
	Cipher string `json:"cipher"`
	Sealed string `json:"sealed"`
	// Check is a checksum of the fields above. It tells a damaged file
	// (bit rot, truncation) from a wrong password; it is not a MAC.
	Check string `json:"check"`
}

func (f *privateFile) checksum() string {
	h := sha256.New()
	for _, s := range []string{f.Format, f.KDF, f.Salt, f.Cipher, f.Sealed} {
		binary.Write(h, binary.BigEndian, uint32(len(s)))
		h.Write([]byte(s))
	}
	binary.Write(h, binary.BigEndian, f.Params)
	return hex.EncodeToString(h.Sum(nil)[:8])
}

func (f *privateFile) ad() []byte {
	return fmt.Appendf(nil, "%s\x00argon2id:%d:%d:%d", privateFormat, f.Params.Ops, f.Params.MemKiB, f.Params.Parallelism)
}

// sealSeed seals an Ed25519 seed under a password.
func sealSeed(seed, password []byte, p Params) ([]byte, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	salt := cryptocore.RandomBytes(16)
	f := &privateFile{Format: privateFormat, KDF: "argon2id", Params: p, Cipher: "xchacha20-poly1305",
		Salt: base64.StdEncoding.EncodeToString(salt)}
	k := cryptocore.Argon2id(password, salt, p.Ops, p.MemKiB, p.Parallelism)
	defer k.Wipe()
	f.Sealed = base64.StdEncoding.EncodeToString(cryptocore.Seal(k, seed, f.ad()))
	f.Check = f.checksum()
	return json.MarshalIndent(f, "", "  ")
}

// parsePrivateFile decodes and checks a private.key file without the
// password.
func parsePrivateFile(b []byte) (*privateFile, []byte, []byte, error) {
	var f privateFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %s: not valid JSON", ErrKeyFileDamaged, PrivateKeyFile)
	}
	if f.Format != privateFormat || f.KDF != "argon2id" || f.Cipher != "xchacha20-poly1305" {
		return nil, nil, nil, fmt.Errorf("%w: %s: unknown format", ErrKeyFileDamaged, PrivateKeyFile)
	}
	if f.Check != f.checksum() {
		return nil, nil, nil, fmt.Errorf("%w: %s: checksum mismatch", ErrKeyFileDamaged, PrivateKeyFile)
	}
	if err := f.Params.Validate(); err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %s: %v", ErrKeyFileDamaged, PrivateKeyFile, err)
	}
	salt, err1 := base64.StdEncoding.DecodeString(f.Salt)
	sealed, err2 := base64.StdEncoding.DecodeString(f.Sealed)
	if err1 != nil || err2 != nil || len(salt) < 16 || len(sealed) != ed25519.SeedSize+cryptocore.Overhead {
		return nil, nil, nil, fmt.Errorf("%w: %s: bad field", ErrKeyFileDamaged, PrivateKeyFile)
	}
	return &f, salt, sealed, nil
}

// openSeed opens a private.key file with a password.
func openSeed(b, password []byte) ([]byte, Params, error) {
	f, salt, sealed, err := parsePrivateFile(b)
	if err != nil {
		return nil, Params{}, err
	}
	k := cryptocore.Argon2id(password, salt, f.Params.Ops, f.Params.MemKiB, f.Params.Parallelism)
	defer k.Wipe()
	seed, err := cryptocore.Open(k, sealed, f.ad())
	if err != nil {
		return nil, Params{}, ErrWrongPassword
	}
	return seed, f.Params, nil
}

// jwk is the public key file and the JSON form of a public key.
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
}

// PublicJWK returns the JWK of an Ed25519 public key.
func PublicJWK(pub ed25519.PublicKey) map[string]string {
	return map[string]string{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(pub)}
}

func parsePublicFile(b []byte) (NodeID, error) {
	var j jwk
	if err := json.Unmarshal(b, &j); err != nil || j.Kty != "OKP" || j.Crv != "Ed25519" {
		return NodeID{}, fmt.Errorf("%w: %s", ErrKeyFileDamaged, PublicKeyFile)
	}
	raw, err := base64.RawURLEncoding.DecodeString(j.X)
	if err != nil {
		return NodeID{}, fmt.Errorf("%w: %s", ErrKeyFileDamaged, PublicKeyFile)
	}
	id, err := NodeIDFromBytes(raw)
	if err != nil {
		return NodeID{}, fmt.Errorf("%w: %s", ErrKeyFileDamaged, PublicKeyFile)
	}
	return id, nil
}

const dataKeyFormat = "pkfs-data-key-v1"

type dataKeyFile struct {
	Format string `json:"format"`
	Cipher string `json:"cipher"`
	Sealed string `json:"sealed"`
}

func dataKeyWrap(seed []byte) cryptocore.Key {
	return cryptocore.DeriveKeyFromSecret(seed, "pkfs data key wrap v1")
}

func sealDataKey(seed []byte, dk cryptocore.Key) ([]byte, error) {
	w := dataKeyWrap(seed)
	defer w.Wipe()
	f := dataKeyFile{Format: dataKeyFormat, Cipher: "xchacha20-poly1305",
		Sealed: base64.StdEncoding.EncodeToString(cryptocore.Seal(w, dk.Bytes(), []byte(dataKeyFormat)))}
	return json.MarshalIndent(f, "", "  ")
}

func openDataKey(seed, b []byte) (cryptocore.Key, error) {
	var f dataKeyFile
	if err := json.Unmarshal(b, &f); err != nil || f.Format != dataKeyFormat || f.Cipher != "xchacha20-poly1305" {
		return cryptocore.Key{}, fmt.Errorf("%w: %s", ErrKeyFileDamaged, DataKeyFile)
	}
	sealed, err := base64.StdEncoding.DecodeString(f.Sealed)
	if err != nil {
		return cryptocore.Key{}, fmt.Errorf("%w: %s", ErrKeyFileDamaged, DataKeyFile)
	}
	w := dataKeyWrap(seed)
	defer w.Wipe()
	raw, err := cryptocore.Open(w, sealed, []byte(dataKeyFormat))
	if err != nil {
		return cryptocore.Key{}, fmt.Errorf("%w: %s does not open with this root key", ErrKeyFileDamaged, DataKeyFile)
	}
	defer clear(raw)
	return cryptocore.KeyFromBytes(raw)
}

// WriteFileAtomic writes data to path through a synced temporary file and a
// rename, then syncs the directory, so a crash leaves the old or the new file.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil && !errors.Is(err, os.ErrPermission) {
		// Filesystems without permission bits (vfat, exFAT) may refuse; that is fine.
		_ = err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}
