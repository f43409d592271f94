package p2p

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/pkfs/pkfs/gestalt"
	"github.com/pkfs/pkfs/internal/cryptocore"
	"github.com/pkfs/pkfs/keyring"
)

// TypeGestaltInvite is the notification that invites a node to link with us.
const TypeGestaltInvite = "gestaltInvite"

// maxClaimSkew bounds the clock difference accepted on a new link claim.
const maxClaimSkew = 5 * time.Minute

func (s *System) registerGestaltMethods() {
	s.Node.Handle("gestalts.chain", func(ctx context.Context, from Peer, body json.RawMessage, out io.Writer) (any, error) {
		if err := decodeBody(body, &struct{}{}); err != nil {
			return nil, err
		}
		es, err := s.Sigchain.Entries()
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(es)
		if err != nil {
			return nil, err
		}
		if _, err := out.Write(b); err != nil { // chains may outgrow a control frame
			return nil, err
		}
		return struct {
			Entries int `json:"entries"`
		}{len(es)}, nil
	})
	s.Node.Handle("gestalts.link", s.handleLink)
	s.Node.Handle("gestalts.changed", func(ctx context.Context, from Peer, body json.RawMessage, _ io.Writer) (any, error) {
		if err := decodeBody(body, &struct{}{}); err != nil {
			return nil, err
		}
		// only a node of our gestalt has something to tell: that it broke
		// its link, so rediscover it (at most one visit queued per node)
		if s.inOurGestalt(from.ID) {
			_ = s.disc.enqueue(gestalt.NodeVertex(from.ID), 0)
		}
		return struct{}{}, nil
	})
}

// RefreshSelf records this node's own chain in the gestalt graph.
func (s *System) RefreshSelf() error {
	es, err := s.Sigchain.Entries()
	if err != nil {
		return err
	}
	return s.Gestalts.Set(gestalt.NodeVertex(s.Keyring.NodeID()), declares(s.Keyring.NodeID(), es))
}

// declares lists the vertices a verified chain links its owner to.
func declares(owner keyring.NodeID, es []gestalt.Entry) []gestalt.Vertex {
	var out []gestalt.Vertex
	for id := range gestalt.Links(owner, es) {
		out = append(out, gestalt.NodeVertex(id))
	}
	for _, c := range gestalt.Identities(es) {
		out = append(out, gestalt.IdentityVertex(c.Provider, c.Identity))
	}
	return out
}

// Invite lets a node link itself to us (the claim permission) and sends it
// a signed invitation. The invitation stands whatever became of the
// notification (a node that does not trust us refuses it).
func (s *System) Invite(ctx context.Context, to keyring.NodeID) (Delivery, error) {
	if to == s.Keyring.NodeID() {
		return Queued, ErrSelf
	}
	if err := s.ACL.Allow(to, gestalt.ClaimPerm); err != nil {
		return Queued, err
	}
	n, err := s.NewNotification(to, TypeGestaltInvite, map[string]string{"nodeId": s.Keyring.NodeID().String()})
	if err != nil {
		return Queued, err
	}
	d, err := s.Deliver(ctx, n)
	if d == Refused {
		return d, nil
	}
	return d, err
}

func newNonce() string { return hex.EncodeToString(cryptocore.RandomBytes(16)) }

// ClaimNode links this node with another that invited it: both sign one
// link claim and append it to their sigchains.
func (s *System) ClaimNode(ctx context.Context, other keyring.NodeID) (gestalt.Claim, error) {
	if !s.Online() {
		return gestalt.Claim{}, ErrOffline
	}
	me := s.Keyring.NodeID()
	c := gestalt.Claim{Type: gestalt.ClaimLink, NodeA: me, NodeB: other, IssuedAt: time.Now().UTC().Truncate(time.Millisecond), Nonce: newNonce()}
	if err := s.Sigchain.SignClaim(&c); err != nil {
		return c, err
	}
	var signed gestalt.Claim
	if err := s.Node.Call(ctx, other, "gestalts.link", c, &signed, nil); err != nil {
		return c, err
	}
	if err := signed.Verify(); err != nil || signed.NodeA != me || signed.NodeB != other || signed.Nonce != c.Nonce {
		return c, fmt.Errorf("%w: the node returned a bad claim: %v", ErrBadRequest, err)
	}
	if _, err := s.Sigchain.Append(signed); err != nil {
		return c, err
	}
	if err := s.RefreshSelf(); err != nil {
		return signed, err
	}
	_ = s.discoverNode(ctx, other, 0) // record its side at once
	return signed, nil
}

// handleLink is the invited side's answer: check, countersign, append.
func (s *System) handleLink(ctx context.Context, from Peer, body json.RawMessage, _ io.Writer) (any, error) {
	var c gestalt.Claim
	if err := decodeBody(body, &c); err != nil {
		return nil, err
	}
	me := s.Keyring.NodeID()
	if c.Type != gestalt.ClaimLink || c.NodeA != from.ID || c.NodeB != me || len(c.SigB) != 0 {
		return nil, fmt.Errorf("%w: not a link claim from you to this node", ErrBadRequest)
	}
	if d := time.Since(c.IssuedAt); d > maxClaimSkew || d < -maxClaimSkew {
		return nil, fmt.Errorf("%w: the claim's time is off by %s", ErrBadRequest, d.Round(time.Second))
	}
	if !s.ACL.Allowed(from.ID, gestalt.ClaimPerm) {
		return nil, fmt.Errorf("%w: this node has not invited you", ErrPermission)
	}
	if err := keyring.Verify(c.NodeA, claimBytes(c), c.SigA); err != nil {
		return nil, fmt.Errorf("%w: your signature", ErrPermission)
	}
	if err := s.Sigchain.SignClaim(&c); err != nil {
		return nil, err
	}
	if _, err := s.Sigchain.Append(c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadRequest, err) // a replayed nonce ends here
	}
	if err := s.RefreshSelf(); err != nil {
		return nil, err
	}
	_ = s.ACL.Disallow(from.ID, gestalt.ClaimPerm) // an invitation is good for one link
	// the claimer signed the link: record its side now (its chain gets the
	// claim only when we answer)
	if err := s.Gestalts.AddDeclare(gestalt.NodeVertex(from.ID), gestalt.NodeVertex(me)); err != nil {
		return nil, err
	}
	return c, nil
}

// claimBytes re-derives what a claim's signatures cover.
func claimBytes(c gestalt.Claim) []byte { return gestalt.SignedBytes(c) }

// Unlink breaks this node's link with another (an unlink claim in our
// chain). The other node is told, when it can be reached, so that it
// rediscovers us at once: until it does, it still counts us in its gestalt.
func (s *System) Unlink(ctx context.Context, other keyring.NodeID) error {
	es, err := s.Sigchain.Entries()
	if err != nil {
		return err
	}
	if !gestalt.Links(s.Keyring.NodeID(), es)[other] {
		return fmt.Errorf("%w: %s is not linked to this node", ErrNotFound, other)
	}
	c := gestalt.Claim{Type: gestalt.ClaimUnlink, NodeA: s.Keyring.NodeID(), NodeB: other,
		IssuedAt: time.Now().UTC().Truncate(time.Millisecond), Nonce: newNonce()}
	if err := s.Sigchain.SignClaim(&c); err != nil {
		return err
	}
	if _, err := s.Sigchain.Append(c); err != nil {
		return err
	}
	if err := s.RefreshSelf(); err != nil {
		return err
	}
	if s.Online() {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := s.Node.Call(cctx, other, "gestalts.changed", struct{}{}, nil, nil); err != nil {
			logf("telling %s about the unlink: %v", other, err)
		}
	}
	return nil
}

// FetchChain gets and verifies another node's sigchain.
func (s *System) FetchChain(ctx context.Context, id keyring.NodeID) ([]gestalt.Entry, error) {
	if !s.Online() {
		return nil, ErrOffline
	}
	var buf limitedBuffer
	buf.max = 16 << 20
	if err := s.Node.Call(ctx, id, "gestalts.chain", struct{}{}, nil, &buf); err != nil {
		return nil, err
	}
	var es []gestalt.Entry
	if err := json.Unmarshal(buf.b, &es); err != nil {
		return nil, fmt.Errorf("%w: sigchain of %s: %v", ErrBadRequest, id, err)
	}
	if err := gestalt.VerifyChain(id, es); err != nil {
		return nil, err
	}
	return es, nil
}

type limitedBuffer struct {
	b   []byte
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if len(l.b)+len(p) > l.max {
		return 0, fmt.Errorf("%w: over %d bytes", ErrTooLarge, l.max)
	}
	l.b = append(l.b, p...)
	return len(p), nil
}
