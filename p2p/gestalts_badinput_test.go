package p2p

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pkfs/pkfs/gestalt"
	"github.com/pkfs/pkfs/gestalt/github/githubtest"
	"github.com/pkfs/pkfs/keyring"
)

// Bad input to discovery: sigchains a peer makes up, claims on a provider
// that do not hold. Each is refused and logged, and discovery goes on.

func newKeyring(t *testing.T) *keyring.Keyring {
	t.Helper()
	kr, _, err := keyring.Create(t.TempDir(), []byte("pw"), keyring.Params{Ops: 1, MemKiB: keyring.MinMemKiB, Parallelism: 1}, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kr.Close() })
	return kr
}

// signEntry signs a chain entry as its owner does (the format of
// gestalt.Entry.signedBytes, which chainOf checks with VerifyChain).
func signEntry(t *testing.T, kr *keyring.Keyring, e gestalt.Entry) gestalt.Entry {
	t.Helper()
	e.Sig = nil
	b, _ := json.Marshal(e)
	sig, err := kr.Sign(append([]byte("pkfs-sigchain-v1\x00"), b...))
	if err != nil {
		t.Fatal(err)
	}
	e.Sig = sig
	return e
}

// chainOf makes a chain of claims, each entry signed by kr, hash-chained.
func chainOf(t *testing.T, kr *keyring.Keyring, cs ...gestalt.Claim) []gestalt.Entry {
	t.Helper()
	var es []gestalt.Entry
	for i, c := range cs {
		e := gestalt.Entry{Seq: uint64(i + 1), IssuedAt: time.Now().UTC().Truncate(time.Millisecond), Claim: c}
		if i > 0 {
			e.Prev = es[i-1].Digest()
		}
		es = append(es, signEntry(t, kr, e))
	}
	return es
}

// claimOf makes a claim between two nodes signed by the given keyrings
// (NodeA's first, then NodeB's; fewer signers leave signatures out).
func claimOf(t *testing.T, typ string, a, b keyring.NodeID, signers ...*keyring.Keyring) gestalt.Claim {
	t.Helper()
	c := gestalt.Claim{Type: typ, NodeA: a, NodeB: b, IssuedAt: time.Now().UTC().Truncate(time.Millisecond), Nonce: newNonce()}
	for i, kr := range signers {
		sig, err := kr.Sign(gestalt.SignedBytes(c))
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			c.SigA = sig
		} else {
			c.SigB = sig
		}
	}
	return c
}

// chainServer makes a node serve whatever its serve function writes as its
// sigchain.
type chainServer struct {
	mu    sync.Mutex
	serve func(w io.Writer)
}

func (cs *chainServer) set(f func(w io.Writer)) { cs.mu.Lock(); cs.serve = f; cs.mu.Unlock() }

func serveChains(n *sysNode) *chainServer {
	cs := &chainServer{}
	n.Node.Handle("gestalts.chain", func(ctx context.Context, from Peer, body json.RawMessage, out io.Writer) (any, error) {
		cs.mu.Lock()
		f := cs.serve
		cs.mu.Unlock()
		f(out)
		return struct{}{}, nil
	})
	return cs
}

func TestDiscoveryRefusesBadSigchains(t *testing.T) {
	obs, bad, g1, g2 := newSys(t), newSys(t), newSys(t), newSys(t)
	for _, n := range []*sysNode{bad, g1, g2} {
		obs.meet(t, n)
	}
	g1.meet(t, g2)
	linkNodes(t, g1, g2)
	other := newKeyring(t) // a node that never runs: it only signs
	me, o := bad.Keyring.NodeID(), other.NodeID()
	srv := serveChains(bad)

	sane := chainOf(t, bad.Keyring, claimOf(t, gestalt.ClaimLink, me, o, bad.Keyring, other))
	if err := gestalt.VerifyChain(me, sane); err != nil {
		t.Fatalf("the test's chains are not signed as sigchains are: %v", err)
	}
	g1chain, _ := g1.Sigchain.Entries()
	link := claimOf(t, gestalt.ClaimLink, me, o, bad.Keyring, other)
	unlink := claimOf(t, gestalt.ClaimUnlink, me, o, bad.Keyring)
	tampered := chainOf(t, bad.Keyring, claimOf(t, gestalt.ClaimLink, me, o, bad.Keyring, other))
	tampered[0].Claim.NodeB = g1.Keyring.NodeID() // after both signed
	reordered := chainOf(t, bad.Keyring, link, unlink)
	reordered[1].Seq = 3
	reordered[1] = signEntry(t, bad.Keyring, reordered[1])
	forked := chainOf(t, bad.Keyring, link, unlink)
	forked[1].Prev = forked[0].Prev
	forked[1] = signEntry(t, bad.Keyring, forked[1])
	foreign := chainOf(t, other, link)
	unknownType := claimOf(t, "admin", me, o, bad.Keyring, other)
	identityOfOther, err := gestalt.SignIdentityClaim(g1.Keyring, "github.com", "alice")
	if err != nil {
		t.Fatal(err)
	}
	tooLong := make([]gestalt.Entry, gestalt.MaxChain+1)
	for i := range tooLong {
		tooLong[i].Seq = uint64(i + 1)
	}

	for _, tc := range []struct {
		name  string
		chain any // []gestalt.Entry, or raw bytes
		why   string
	}{
		{"garbage", []byte("<html><body>502</body></html>"), "sigchain of"},
		{"an object, not a chain", []byte(`{"seq":1,"claim":{}}`), "sigchain of"},
		{"a chain with a null entry", []byte(`[null]`), "broken chain"},
		{"over MaxChain entries", tooLong, "longer than"},
		{"a claim edited after signing", tampered, "not signed by the chain's owner"},
		{"a gap in the sequence", reordered, "broken chain"},
		{"a fork (prev of the wrong entry)", forked, "broken chain"},
		{"entries signed by another node", foreign, "not signed by the chain's owner"},
		{"a link of two other nodes", chainOf(t, bad.Keyring, g1chain[0].Claim), "a link claim of other nodes"},
		{"a link signed by one side only", chainOf(t, bad.Keyring, claimOf(t, gestalt.ClaimLink, me, o, bad.Keyring)), "signature of " + o.String()},
		{"a link whose other signature is ours", chainOf(t, bad.Keyring, claimOf(t, gestalt.ClaimLink, me, o, bad.Keyring, bad.Keyring)), "signature of " + o.String()},
		{"a replayed link after its unlink", chainOf(t, bad.Keyring, link, unlink, link), "replayed claim"},
		{"an identity claim of another node", chainOf(t, bad.Keyring, identityOfOther), "an identity claim of another node"},
		{"an unknown claim type", chainOf(t, bad.Keyring, unknownType), "type admin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.set(func(w io.Writer) {
				if b, ok := tc.chain.([]byte); ok {
					w.Write(b)
					return
				}
				json.NewEncoder(w).Encode(tc.chain)
			})
			_, _, err := obs.DiscoverWait(ctx(t), gestalt.NodeVertex(me))
			if err == nil || !strings.Contains(err.Error(), tc.why) {
				t.Fatalf("discovery of a node serving %s: %v, want an error about %q", tc.name, err, tc.why)
			}
			if obs.Gestalts.Known(gestalt.NodeVertex(me)) {
				t.Fatal("the refused chain was recorded")
			}
			if q := obs.DiscoveryQueue(); len(q.Rejected) == 0 || !strings.Contains(q.Rejected[len(q.Rejected)-1], me.String()) {
				t.Fatalf("the refusal is not in the queue's log: %v", q.Rejected)
			}
			// discovery goes on with the rest: the bad node queued first
			start := obs.disc.lastSeq()
			if err := obs.Discover(gestalt.NodeVertex(me)); err != nil {
				t.Fatal(err)
			}
			g, _, err := obs.DiscoverWait(ctx(t), gestalt.NodeVertex(g2.Keyring.NodeID()))
			if rs := obs.disc.rejectedSince(start); err != nil || len(g.Nodes) != 2 || len(rs) != 1 || rs[0].v != gestalt.NodeVertex(me) {
				t.Fatalf("discovery after the bad node: %+v, rejected %v, %v", g, rs, err)
			}
		})
	}
	// the node serves its real chain again: it is discovered
	srv.set(func(w io.Writer) { w.Write([]byte("[]")) })
	if g, _, err := obs.DiscoverWait(ctx(t), gestalt.NodeVertex(me)); err != nil || len(g.Nodes) != 1 {
		t.Fatalf("discovery of an empty chain: %+v %v", g, err)
	}
}

func TestRevokedLinkNotHonoured(t *testing.T) {
	obs, m, x := newSys(t), newSys(t), newSys(t)
	obs.meet(t, m)
	obs.meet(t, x)
	m.meet(t, x)
	linkNodes(t, x, m) // m claims: the claim's NodeA is m
	if err := x.Unlink(ctx(t), m.Keyring.NodeID()); err != nil {
		t.Fatal(err)
	}
	// m's chain still presents the old, doubly signed link
	if es, _ := m.Sigchain.Entries(); !gestalt.Links(m.Keyring.NodeID(), es)[x.Keyring.NodeID()] {
		t.Fatal("m's chain lost the link")
	}
	g, _, err := obs.DiscoverWait(ctx(t), gestalt.NodeVertex(m.Keyring.NodeID()))
	if err != nil || len(g.Nodes) != 1 {
		t.Fatalf("m's gestalt after x unlinked: %+v %v", g, err)
	}
	// m was told of the unlink and no longer counts x either
	waitFor(t, "m rediscovers x", func() bool { return !m.inOurGestalt(x.Keyring.NodeID()) })
	// the old claim sent again, as signed or with only m's signature, even
	// with a new invitation, does not link them again
	es, _ := m.Sigchain.Entries()
	old := es[0].Claim
	x.ACL.Allow(m.Keyring.NodeID(), gestalt.ClaimPerm)
	if err := m.Node.Call(ctx(t), x.Keyring.NodeID(), "gestalts.link", old, nil, nil); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("the old claim, doubly signed, replayed: %v", err)
	}
	old.SigB = nil
	if err := m.Node.Call(ctx(t), x.Keyring.NodeID(), "gestalts.link", old, nil, nil); !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), "replayed claim") {
		t.Fatalf("the old claim replayed: %v", err)
	}
}

func TestDiscoveryRefusesBadIdentityClaims(t *testing.T) {
	gh := githubtest.NewServer()
	t.Cleanup(gh.Close)
	gh.SetDeviceFlow(10*time.Millisecond, time.Minute)
	obs, node, liar := newSys(t), newSys(t), newSys(t)
	withGitHub(t, gh, obs, node)
	obs.meet(t, node)
	obs.meet(t, liar)
	authenticate(t, gh, node, "alice")
	if _, err := node.ClaimIdentity(ctx(t), "github.com", "alice"); err != nil {
		t.Fatal(err)
	}
	alice := gestalt.IdentityVertex("github.com", "alice")
	var aliceClaim string
	gh.EditGist("alice", func(old string) string { aliceClaim = old; return old })

	t.Run("a copy of another identity's claim", func(t *testing.T) {
		gh.AddGist("mallory", true, map[string]string{gestalt.ClaimFileName: aliceClaim})
		g, _, err := obs.DiscoverWait(ctx(t), gestalt.IdentityVertex("github.com", "mallory"))
		if !errors.Is(err, gestalt.ErrBadClaim) || !strings.Contains(err.Error(), "names github.com:alice") || len(g.Nodes) != 0 {
			t.Fatalf("mallory's copy of alice's claim: %+v %v", g, err)
		}
		if gg := obs.GestaltOf(gestalt.IdentityVertex("github.com", "mallory")); len(gg.Nodes) != 0 {
			t.Fatalf("mallory's gestalt: %+v", gg)
		}
	})
	t.Run("garbage between the markers", func(t *testing.T) {
		gh.AddGist("eve", true, map[string]string{gestalt.ClaimFileName: "-----BEGIN PKFS IDENTITY CLAIM-----\n%%%\n-----END PKFS IDENTITY CLAIM-----\n"})
		_, _, err := obs.DiscoverWait(ctx(t), gestalt.IdentityVertex("github.com", "eve"))
		if !errors.Is(err, gestalt.ErrBadClaim) || !strings.Contains(err.Error(), "not base64") {
			t.Fatalf("a garbled claim: %v", err)
		}
	})
	t.Run("a node that does not claim the identity back", func(t *testing.T) {
		c, err := gestalt.SignIdentityClaim(liar.Keyring, "github.com", "trudy") // signed, never in its chain
		if err != nil {
			t.Fatal(err)
		}
		gh.AddGist("trudy", true, map[string]string{gestalt.ClaimFileName: string(gestalt.EncodeIdentityClaim(c))})
		g, _, err := obs.DiscoverWait(ctx(t), gestalt.IdentityVertex("github.com", "trudy"))
		if err != nil || len(g.Nodes) != 0 {
			t.Fatalf("an identity whose node does not agree: %+v %v", g, err)
		}
	})
	t.Run("one good claim and one edited", func(t *testing.T) {
		raw := strings.Split(aliceClaim, "\n")[1]
		b, _ := base64.StdEncoding.DecodeString(raw)
		var c gestalt.Claim
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatal(err)
		}
		c.Nonce = newNonce() // a claim the node never signed
		forged := strings.Replace(aliceClaim, raw, base64.StdEncoding.EncodeToString(mustJSON(c)), 1)
		gh.AddGist("alice", true, map[string]string{gestalt.ClaimFileName: aliceClaim + forged})
		g, others, err := obs.DiscoverWait(ctx(t), alice)
		if err != nil || len(g.Nodes) != 1 || g.Nodes[0] != node.Keyring.NodeID().String() {
			t.Fatalf("alice with a good and a bad claim: %+v %v", g, err)
		}
		var refused bool
		for _, r := range others {
			refused = refused || strings.HasPrefix(r, "github.com:alice: ") && strings.Contains(r, "signature")
		}
		if !refused {
			t.Fatalf("the forged claim was not logged: %v", others)
		}
	})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func TestClaimRefusesHalfSignedAnswers(t *testing.T) {
	claimer, invitee := newSys(t), newSys(t)
	claimer.meet(t, invitee)
	other := newKeyring(t)
	for _, tc := range []struct {
		name   string
		answer func(c gestalt.Claim) gestalt.Claim
	}{
		{"the claim unsigned by the invitee", func(c gestalt.Claim) gestalt.Claim { return c }},
		{"signed by another node", func(c gestalt.Claim) gestalt.Claim {
			c.SigB, _ = other.Sign(gestalt.SignedBytes(c))
			return c
		}},
		{"another claim, signed by the invitee alone", func(c gestalt.Claim) gestalt.Claim {
			c.Nonce = newNonce()
			c.SigB, _ = invitee.Keyring.Sign(gestalt.SignedBytes(c))
			return c
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			invitee.Node.Handle("gestalts.link", func(ctx context.Context, from Peer, body json.RawMessage, _ io.Writer) (any, error) {
				var c gestalt.Claim
				if err := decodeBody(body, &c); err != nil {
					return nil, err
				}
				return tc.answer(c), nil
			})
			if _, err := claimer.ClaimNode(ctx(t), invitee.Keyring.NodeID()); !errors.Is(err, ErrBadRequest) {
				t.Fatalf("claim answered with %s: %v", tc.name, err)
			}
			if es, _ := claimer.Sigchain.Entries(); len(es) != 0 {
				t.Fatalf("the claimer's chain: %+v", es)
			}
		})
	}
}
