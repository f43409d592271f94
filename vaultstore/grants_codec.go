package vaultstore

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/pkfs/pkfs/keyring"
)

// Action is something a grants log lets a node do with a vault.
type Action string

// Vault actions, in their canonical order.
const (
	ActionClone Action = "clone"
	ActionPull  Action = "pull"
	ActionWrite Action = "write"
)

var allActions = []Action{ActionClone, ActionPull, ActionWrite}

// GrantOp is the kind of a grants log entry.
type GrantOp string

// Grants log operations.
const (
	OpGenesis GrantOp = "genesis"
	OpGrant   GrantOp = "grant"
	OpRevoke  GrantOp = "revoke"
)

// GrantEntry is one decoded entry of a vault's grants log (see
// docs/multi-writer.md). Which fields an entry has depends on its Op.
type GrantEntry struct {
	Vault    VaultID
	Seq      int
	Prev     string // hex SHA-256 of the previous entry; "" for entry 0
	Time     time.Time
	Op       GrantOp
	Owner    keyring.NodeID // genesis: the vault's owner
	Base     Hash           // genesis: the newest unsigned commit vouched for; zero for a new vault
	Node     keyring.NodeID // grant, revoke
	Actions  []Action       // grant: what Node now has; revoke: what it loses
	Frontier []Hash         // revoke of write: the owner's heads when it revoked
}

// Limits of a grants entry.
const (
	maxGrantEntry = 4096 // bytes, payload and signature
	maxFrontier   = 16
	// grantsSigContext prefixes what an entry's signature covers.
	grantsSigContext = "pkfs grants v1\x00"
	grantTimeLayout  = "2006-01-02T15:04:05Z"
)

// ErrBadGrant is wrapped by the errors of entries that do not decode.
var ErrBadGrant = errors.New("malformed grants entry")

// The JSON forms, one per op: field order is the canonical key order.
type genesisJSON struct {
	Vault string  `json:"vault"`
	Seq   int     `json:"seq"`
	Prev  string  `json:"prev"`
	Time  string  `json:"time"`
	Op    GrantOp `json:"op"`
	Owner string  `json:"owner"`
	Base  string  `json:"base"`
}

type grantJSON struct {
	Vault   string   `json:"vault"`
	Seq     int      `json:"seq"`
	Prev    string   `json:"prev"`
	Time    string   `json:"time"`
	Op      GrantOp  `json:"op"`
	Node    string   `json:"node"`
	Actions []Action `json:"actions"`
}

type revokeJSON struct {
	grantJSON
	Frontier []string `json:"frontier"`
}

// anyJSON accepts the fields of every op, for decoding.
type anyJSON struct {
	Vault    string   `json:"vault"`
	Seq      int      `json:"seq"`
	Prev     string   `json:"prev"`
	Time     string   `json:"time"`
	Op       GrantOp  `json:"op"`
	Owner    string   `json:"owner"`
	Base     string   `json:"base"`
	Node     string   `json:"node"`
	Actions  []Action `json:"actions"`
	Frontier []string `json:"frontier"`
}

// payload returns the canonical JSON of e.
func (e *GrantEntry) payload() []byte {
	g := grantJSON{Vault: e.Vault.String(), Seq: e.Seq, Prev: e.Prev, Time: e.Time.UTC().Format(grantTimeLayout),
		Op: e.Op, Node: e.Node.String(), Actions: append([]Action{}, e.Actions...)}
	var v any
	switch e.Op {
	case OpGenesis:
		base := ""
		if !e.Base.IsZero() {
			base = e.Base.String()
		}
		v = genesisJSON{Vault: g.Vault, Seq: g.Seq, Prev: g.Prev, Time: g.Time, Op: g.Op, Owner: e.Owner.String(), Base: base}
	case OpRevoke:
		f := make([]string, len(e.Frontier))
		for i, h := range e.Frontier {
			f[i] = h.String()
		}
		v = revokeJSON{grantJSON: g, Frontier: f}
	default:
		v = g
	}
	b, _ := json.Marshal(v) // plain strings and numbers: cannot fail
	return b
}

// signedGrantBytes is what an entry's signature covers.
func signedGrantBytes(payload []byte) []byte {
	return append([]byte(grantsSigContext), payload...)
}

// entryHash is the hex SHA-256 of a whole entry, its successor's prev.
func entryHash(raw []byte) string {
	h := sha256.Sum256(raw)
	return hex.EncodeToString(h[:])
}

// decodeGrantEntry parses payload || signature strictly: the payload must
// be the canonical JSON of what it decodes to. The signature is split off,
// not checked (that needs the log: see grantsLog.check).
func decodeGrantEntry(raw []byte) (*GrantEntry, []byte, error) {
	if len(raw) <= signatureSize || len(raw) > maxGrantEntry {
		return nil, nil, fmt.Errorf("%w: size", ErrBadGrant)
	}
	payload, sig := raw[:len(raw)-signatureSize], raw[len(raw)-signatureSize:]
	var j anyJSON
	d := json.NewDecoder(bytes.NewReader(payload))
	d.DisallowUnknownFields()
	if err := d.Decode(&j); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrBadGrant, err)
	}
	e, err := j.entry()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrBadGrant, err)
	}
	if !bytes.Equal(e.payload(), payload) {
		return nil, nil, fmt.Errorf("%w: not in canonical form", ErrBadGrant)
	}
	return e, sig, nil
}

func (j *anyJSON) entry() (*GrantEntry, error) {
	e := &GrantEntry{Seq: j.Seq, Prev: j.Prev, Op: j.Op}
	var err error
	if e.Vault, err = ParseVaultID(j.Vault); err != nil {
		return nil, errors.New("vault")
	}
	if e.Seq < 0 || (e.Seq == 0) != (e.Prev == "") || (e.Prev != "" && !isLowerHex(e.Prev, sha256.Size)) {
		return nil, errors.New("seq or prev")
	}
	if e.Time, err = time.Parse(grantTimeLayout, j.Time); err != nil {
		return nil, errors.New("time")
	}
	switch e.Op {
	case OpGenesis:
		if e.Owner, err = keyring.ParseNodeID(j.Owner); err != nil {
			return nil, errors.New("owner")
		}
		if j.Base != "" {
			if e.Base, err = ParseHash(j.Base); err != nil {
				return nil, errors.New("base")
			}
		}
		return e, nil
	case OpGrant, OpRevoke:
	default:
		return nil, errors.New("op")
	}
	if e.Node, err = keyring.ParseNodeID(j.Node); err != nil {
		return nil, errors.New("node")
	}
	if e.Actions, err = canonicalActions(j.Actions); err != nil {
		return nil, err
	}
	if e.Op == OpRevoke {
		if e.Frontier, err = parseFrontier(j.Frontier, slices.Contains(e.Actions, ActionWrite)); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// canonicalActions checks a non-empty list of known actions, in canonical
// order, without repeats.
func canonicalActions(as []Action) ([]Action, error) {
	if len(as) == 0 {
		return nil, errors.New("no actions")
	}
	last := -1
	for _, a := range as {
		i := slices.Index(allActions, a)
		if i <= last {
			return nil, errors.New("actions: unknown, repeated or out of order")
		}
		last = i
	}
	return as, nil
}

// parseFrontier checks a frontier: present (1 to maxFrontier hashes, in
// ascending order) exactly when write is revoked.
func parseFrontier(fs []string, write bool) ([]Hash, error) {
	if write != (len(fs) > 0) || len(fs) > maxFrontier {
		return nil, errors.New("frontier")
	}
	out := make([]Hash, len(fs))
	for i, s := range fs {
		h, err := ParseHash(s)
		if err != nil || h.String() != s || (i > 0 && bytes.Compare(out[i-1][:], h[:]) >= 0) {
			return nil, errors.New("frontier")
		}
		out[i] = h
	}
	return out, nil
}

func isLowerHex(s string, n int) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == n && hex.EncodeToString(b) == s
}
