package agent

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/pkfs/pkfs/keyring"
)

// KeysPublic is the result of keys.public.
type KeysPublic struct {
	NodeID    string            `json:"nodeId"`
	PublicKey map[string]string `json:"publicKey"`
}

// KeysPasswordParams are the parameters of keys.password: the current
// password (required: it is checked before anything is written), the new
// one and its hashing costs (empty: the defaults).
type KeysPasswordParams struct {
	Current  string `json:"currentPassword"`
	New      string `json:"newPassword"`
	OpsLimit string `json:"opsLimit,omitempty"`
	MemLimit string `json:"memLimit,omitempty"`
}

// KeysSignParams are the parameters of keys.sign (data in base64).
type KeysSignParams struct {
	Data string `json:"data"`
}

// KeysSignature is the result of keys.sign.
type KeysSignature struct {
	Signature string `json:"signature"`
}

// KeysVerifyParams are the parameters of keys.verify.
type KeysVerifyParams struct {
	NodeID    string `json:"nodeId"`
	Data      string `json:"data"`
	Signature string `json:"signature"`
}

// KeysVerified is the result of keys.verify.
type KeysVerified struct {
	Verified bool `json:"signatureVerified"`
}

// KeysEncryptParams are the parameters of keys.encrypt and keys.decrypt.
type KeysEncryptParams struct {
	NodeID string `json:"nodeId,omitempty"`
	Data   string `json:"data"`
}

// KeysData is the result of keys.encrypt and keys.decrypt (base64).
type KeysData struct {
	Data string `json:"data"`
}

// PublicOf returns the keys.public result for a node ID.
func PublicOf(id keyring.NodeID) KeysPublic {
	return KeysPublic{NodeID: id.String(), PublicKey: keyring.PublicJWK(id.PublicKey())}
}

// changePassword re-seals the root key under a new password once the
// current one is proved, through the password gate: the only way a caller
// of the agent alters key material.
func (s *Service) changePassword(ctx context.Context, p KeysPasswordParams) error {
	if p.Current == "" {
		return Errorf(KindInvalid, "changing the password needs the current password")
	}
	if p.New == "" {
		return fmt.Errorf("the new password: %w", keyring.ErrEmptyPassword)
	}
	params, err := keyring.ParamsFrom(p.OpsLimit, p.MemLimit)
	if err != nil {
		return err
	}
	cur, next := []byte(p.Current), []byte(p.New)
	defer clear(cur)
	defer clear(next)
	err = s.pwGate.check(ctx, func() error { return s.Node.Keyring.ChangePassword(cur, next, params) })
	if errors.Is(err, keyring.ErrWrongPassword) {
		return Errorf(KindWrongPassword, "the current password is wrong")
	}
	return err
}

func b64(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, Errorf(KindInvalid, "data is not valid base64")
	}
	return b, nil
}

func init() {
	register("keys.public", func(ctx context.Context, s *Service, c *Call) (any, error) {
		return PublicOf(s.Node.Keyring.NodeID()), nil
	})
	register("keys.password", func(ctx context.Context, s *Service, c *Call) (any, error) {
		var p KeysPasswordParams
		if err := decode(c, &p); err != nil {
			return nil, err
		}
		return struct{}{}, s.changePassword(ctx, p)
	})
	register("keys.sign", func(ctx context.Context, s *Service, c *Call) (any, error) {
		var p KeysSignParams
		if err := decode(c, &p); err != nil {
			return nil, err
		}
		data, err := b64(p.Data)
		if err != nil {
			return nil, err
		}
		sig, err := s.Node.Keyring.Sign(data)
		if err != nil {
			return nil, err
		}
		return KeysSignature{Signature: base64.StdEncoding.EncodeToString(sig)}, nil
	})
	register("keys.verify", func(ctx context.Context, s *Service, c *Call) (any, error) {
		var p KeysVerifyParams
		if err := decode(c, &p); err != nil {
			return nil, err
		}
		return Verify(p)
	})
	register("keys.encrypt", func(ctx context.Context, s *Service, c *Call) (any, error) {
		var p KeysEncryptParams
		if err := decode(c, &p); err != nil {
			return nil, err
		}
		return Encrypt(p)
	})
	register("keys.decrypt", func(ctx context.Context, s *Service, c *Call) (any, error) {
		var p KeysEncryptParams
		if err := decode(c, &p); err != nil {
			return nil, err
		}
		data, err := b64(p.Data)
		if err != nil {
			return nil, err
		}
		out, err := s.Node.Keyring.Decrypt(data)
		if err != nil {
			return nil, Errorf(KindDamaged, "failed to decrypt: not sealed to this node, or damaged")
		}
		return KeysData{Data: base64.StdEncoding.EncodeToString(out)}, nil
	})
}

// Verify checks a signature; it needs no keys of our own.
func Verify(p KeysVerifyParams) (KeysVerified, error) {
	id, err := keyring.ParseNodeID(p.NodeID)
	if err != nil {
		return KeysVerified{}, err
	}
	data, err := b64(p.Data)
	if err != nil {
		return KeysVerified{}, err
	}
	sig, err := b64(p.Signature)
	if err != nil {
		return KeysVerified{}, err
	}
	return KeysVerified{Verified: keyring.Verify(id, data, sig) == nil}, nil
}

// Encrypt seals data to a node ID; it needs no keys of our own.
func Encrypt(p KeysEncryptParams) (KeysData, error) {
	id, err := keyring.ParseNodeID(p.NodeID)
	if err != nil {
		return KeysData{}, err
	}
	data, err := b64(p.Data)
	if err != nil {
		return KeysData{}, err
	}
	out, err := keyring.Encrypt(id, data)
	if err != nil {
		return KeysData{}, err
	}
	return KeysData{Data: base64.StdEncoding.EncodeToString(out)}, nil
}
