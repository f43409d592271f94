package gestalt

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/pkfs/pkfs/internal/kvstore"
	"github.com/pkfs/pkfs/keyring"
)

// Errors of sigchains and claims.
var (
	ErrBadChain = errors.New("invalid sigchain")
	ErrBadClaim = errors.New("invalid claim")
)

// Claim types.
const (
	ClaimLink     = "node"     // two nodes are one gestalt (signed by both)
	ClaimUnlink   = "unlink"   // the chain's owner breaks a link
	ClaimIdentity = "identity" // a node is an account of an identity provider
)

// Claim is a statement in a sigchain. Which fields are set depends on Type.
type Claim struct {
	Type     string         `json:"type"`
	NodeA    keyring.NodeID `json:"nodeA,omitzero"`
	NodeB    keyring.NodeID `json:"nodeB,omitzero"`
	Provider string         `json:"provider,omitempty"`
	Identity string         `json:"identity,omitempty"`
	IssuedAt time.Time      `json:"issuedAt"`
	Nonce    string         `json:"nonce"`
	SigA     []byte         `json:"sigA,omitempty"` // by NodeA (links), or by the node (identity claims)
	SigB     []byte         `json:"sigB,omitempty"` // by NodeB (links)
}

// signedBytes is what a claim's signatures cover.
func (c Claim) signedBytes() []byte {
	c.SigA, c.SigB = nil, nil
	b, _ := json.Marshal(c)
	return append([]byte("pkfs-claim-v1\x00"), b...)
}

// Verify checks a claim's shape and signatures.
func (c Claim) Verify() error {
	bad := func(why string) error { return fmt.Errorf("%w: %s", ErrBadClaim, why) }
	if len(c.Nonce) != 32 || c.IssuedAt.IsZero() {
		return bad("nonce or time")
	}
	switch c.Type {
	case ClaimLink:
		if c.NodeA == c.NodeB || c.NodeA.IsZero() || c.NodeB.IsZero() {
			return bad("link nodes")
		}
		if keyring.Verify(c.NodeA, c.signedBytes(), c.SigA) != nil {
			return bad("signature of " + c.NodeA.String())
		}
		if keyring.Verify(c.NodeB, c.signedBytes(), c.SigB) != nil {
			return bad("signature of " + c.NodeB.String())
		}
	case ClaimUnlink:
		if c.NodeA == c.NodeB || c.NodeA.IsZero() || c.NodeB.IsZero() {
			return bad("unlink nodes")
		}
	case ClaimIdentity:
		if c.NodeA.IsZero() || c.Provider == "" || c.Identity == "" || len(c.Provider) > 64 || len(c.Identity) > 256 {
			return bad("identity fields")
		}
		if keyring.Verify(c.NodeA, c.signedBytes(), c.SigA) != nil {
			return bad("signature of " + c.NodeA.String())
		}
	default:
		return bad("type " + c.Type)
	}
	return nil
}

// Involves reports whether a link or unlink claim concerns node id.
func (c Claim) Involves(id keyring.NodeID) bool { return c.NodeA == id || c.NodeB == id }

// Other returns the node of a link that is not id.
func (c Claim) Other(id keyring.NodeID) keyring.NodeID {
	if c.NodeA == id {
		return c.NodeB
	}
	return c.NodeA
}

// Entry is one link of a sigchain.
type Entry struct {
	Seq      uint64    `json:"seq"`
	Prev     string    `json:"prev"` // hex SHA-256 of the previous entry; "" for the first
	IssuedAt time.Time `json:"issuedAt"`
	Claim    Claim     `json:"claim"`
	Sig      []byte    `json:"signature"` // by the chain's owner
}

func (e Entry) signedBytes() []byte {
	e.Sig = nil
	b, _ := json.Marshal(e)
	return append([]byte("pkfs-sigchain-v1\x00"), b...)
}

// Digest is the hash that the next entry's Prev names.
func (e Entry) Digest() string {
	b, _ := json.Marshal(e)
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// MaxChain bounds a sigchain accepted from a peer.
const MaxChain = 10000

// VerifyChain checks a node's whole sigchain: sequence, hash chain, the
// owner's signature on every entry, every claim, that each claim concerns
// the owner, and that no claim is replayed.
func VerifyChain(owner keyring.NodeID, es []Entry) error {
	if len(es) > MaxChain {
		return fmt.Errorf("%w: longer than %d", ErrBadChain, MaxChain)
	}
	prev := ""
	nonces := map[string]bool{}
	for i, e := range es {
		bad := func(why string) error { return fmt.Errorf("%w: entry %d: %s", ErrBadChain, i+1, why) }
		if e.Seq != uint64(i+1) || e.Prev != prev {
			return bad("broken chain")
		}
		if keyring.Verify(owner, e.signedBytes(), e.Sig) != nil {
			return bad("not signed by the chain's owner")
		}
		if err := e.Claim.Verify(); err != nil {
			return bad(err.Error())
		}
		switch e.Claim.Type {
		case ClaimLink, ClaimUnlink:
			if !e.Claim.Involves(owner) {
				return bad("a link claim of other nodes")
			}
		case ClaimIdentity:
			if e.Claim.NodeA != owner {
				return bad("an identity claim of another node")
			}
		}
		if nonces[e.Claim.Nonce] {
			return bad("replayed claim")
		}
		nonces[e.Claim.Nonce] = true
		prev = e.Digest()
	}
	return nil
}

// Sigchain is this node's own chain, in the store.
type Sigchain struct {
	mu sync.Mutex
	kr *keyring.Keyring
	b  *kvstore.Bucket
}

// NewSigchain returns the node's sigchain.
func NewSigchain(db *kvstore.DB, kr *keyring.Keyring) *Sigchain {
	return &Sigchain{kr: kr, b: db.Bucket("sigchain")}
}

func seqKey(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// Entries returns the chain, oldest first.
func (s *Sigchain) Entries() ([]Entry, error) {
	var es []Entry
	err := s.b.ForEach(func(k, v []byte) error {
		var e Entry
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("%w: stored entry", ErrBadChain)
		}
		es = append(es, e)
		return nil
	})
	sort.Slice(es, func(i, j int) bool { return es[i].Seq < es[j].Seq })
	return es, err
}

// Append adds a claim (already carrying its other signatures) to the chain.
func (s *Sigchain) Append(c Claim) (Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	es, err := s.Entries()
	if err != nil {
		return Entry{}, err
	}
	e := Entry{Seq: uint64(len(es) + 1), IssuedAt: time.Now().UTC().Truncate(time.Millisecond), Claim: c}
	if len(es) > 0 {
		e.Prev = es[len(es)-1].Digest()
	}
	if e.Sig, err = s.kr.Sign(e.signedBytes()); err != nil {
		return Entry{}, err
	}
	if err := VerifyChain(s.kr.NodeID(), append(es, e)); err != nil {
		return Entry{}, err
	}
	v, _ := json.Marshal(e)
	return e, s.b.Put(seqKey(e.Seq), v, true)
}

// SignClaim adds this node's signature to a claim (as NodeA or NodeB).
func (s *Sigchain) SignClaim(c *Claim) error {
	sig, err := s.kr.Sign(c.signedBytes())
	if err != nil {
		return err
	}
	switch s.kr.NodeID() {
	case c.NodeA:
		c.SigA = sig
	case c.NodeB:
		c.SigB = sig
	default:
		return fmt.Errorf("%w: this node is not in the claim", ErrBadClaim)
	}
	return nil
}

// Links returns the nodes a chain links its owner to, links later broken
// by an unlink claim left out.
func Links(owner keyring.NodeID, es []Entry) map[keyring.NodeID]bool {
	out := map[keyring.NodeID]bool{}
	for _, e := range es {
		switch e.Claim.Type {
		case ClaimLink:
			out[e.Claim.Other(owner)] = true
		case ClaimUnlink:
			delete(out, e.Claim.Other(owner))
		}
	}
	return out
}

// Identities returns the identity claims of a chain.
func Identities(es []Entry) []Claim {
	var out []Claim
	for _, e := range es {
		if e.Claim.Type == ClaimIdentity {
			out = append(out, e.Claim)
		}
	}
	return out
}

// SignedBytes returns what a claim's signatures cover, for a node that
// checks one half of a claim before countersigning.
func SignedBytes(c Claim) []byte { return c.signedBytes() }
