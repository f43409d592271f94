package p2p

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/pkfs/pkfs/internal/cryptocore"
)

// announceBy returns an announcement of n, signed by signer.
func announceBy(t testing.TB, n, signer *testNode, at time.Time, addrs ...netip.Addr) []byte {
	t.Helper()
	a := announcement{NodeID: n.ID(), Time: at.Truncate(time.Millisecond), Port: uint16(n.Addr().Port), Addrs: addrs}
	copy(a.Nonce[:], cryptocore.RandomBytes(lanNonceLen))
	p, err := a.encode(signer.kr.Sign)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLANAnnouncementsChecked: a genuine announcement gives a hint; a
// replayed, altered, stale, misdirected or falsely signed one is counted
// and ignored.
func TestLANAnnouncementsChecked(t *testing.T) {
	a, b, c := newTestNode(t), newTestNode(t), newTestNode(t)
	d := &lanDiscovery{n: a.Node, seen: map[[lanNonceLen]byte]time.Time{}}
	now := time.Now()
	lan := netip.MustParseAddr("10.9.0.3")
	src := netip.AddrPortFrom(lan, LANPort)
	good := announceBy(t, b, b, now, netip.MustParseAddr("192.0.2.9"), lan)

	d.take(good, src, now)
	h, _, ok := a.hints.get(b.ID())
	if d.accepted.Load() != 1 || !ok || h.Host != "10.9.0.3" || h.Port != b.Addr().Port {
		t.Fatalf("a genuine announcement: accepted %d, hint %+v %v", d.accepted.Load(), h, ok)
	}
	a.hints.forget(b.ID())

	d.take(good, src, now.Add(time.Second))
	if d.replayed.Load() != 1 {
		t.Fatal("a replay was not counted as one")
	}
	altered := bytes.Clone(good)
	altered[len(lanMagic)+1+32+8+lanNonceLen] ^= 1 // the port
	forgedBy := announceBy(t, b, c, now.Add(time.Millisecond), lan)
	stale := announceBy(t, b, b, now.Add(-2*lanWindow), lan)
	future := announceBy(t, b, b, now.Add(2*lanWindow), lan)
	elsewhere := announceBy(t, b, b, now.Add(2*time.Millisecond), netip.MustParseAddr("10.9.0.4"))
	for _, p := range [][]byte{altered, forgedBy, stale, future, elsewhere, []byte("garbage"), good[:40], nil} {
		d.take(p, src, now)
	}
	if d.forged.Load() != 6 || d.stale.Load() != 2 || d.accepted.Load() != 1 {
		t.Fatalf("forged %d (want 6), stale %d (want 2), accepted %d (want 1)", d.forged.Load(), d.stale.Load(), d.accepted.Load())
	}
	if _, _, ok := a.hints.get(b.ID()); ok {
		t.Fatal("a refused announcement left a hint")
	}
	own := announceBy(t, a, a, now, lan)
	d.take(own, src, now)
	if _, _, ok := a.hints.get(a.ID()); ok || d.accepted.Load() != 1 {
		t.Fatal("a node took its own announcement")
	}
}

// TestLANSeenSetBounded: past maxLANSeen nonces within the window, new
// announcements are refused rather than old nonces forgotten (a flood
// cannot make a replay pass).
func TestLANSeenSetBounded(t *testing.T) {
	d := &lanDiscovery{seen: map[[lanNonceLen]byte]time.Time{}}
	now := time.Now()
	var nonce [lanNonceLen]byte
	for i := range maxLANSeen {
		nonce[0], nonce[1] = byte(i), byte(i>>8)
		if !d.firstSight(nonce, now) {
			t.Fatalf("nonce %d refused", i)
		}
	}
	nonce[2] = 1
	if d.firstSight(nonce, now) {
		t.Fatal("a nonce past the bound was taken")
	}
	if !d.firstSight(nonce, now.Add(3*lanWindow)) {
		t.Fatal("the seen set did not make room once its nonces expired")
	}
}

// FuzzDecodeAnnouncement: the decoder never panics, and what it accepts
// is canonical: it encodes back to the same bytes.
func FuzzDecodeAnnouncement(f *testing.F) {
	b := newTestNode(f)
	now := time.Unix(1700000000, 0)
	f.Add(announceBy(f, b, b, now, netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("2001:db8::1")))
	f.Add(announceBy(f, b, b, now))
	f.Add([]byte(lanMagic + "\x01"))
	f.Add([]byte("pkfs-lan\x02"))
	f.Fuzz(func(t *testing.T, p []byte) {
		a, err := decodeAnnouncement(p)
		if err != nil {
			return
		}
		if back := append(a.body(), a.Sig...); !bytes.Equal(back, p) {
			t.Fatalf("decoded %x, encodes back to %x", p, back)
		}
	})
}

// FuzzParseAddrPort: an address a peer reports parses to a canonical
// form that parses to itself, and never to an unusable address.
func FuzzParseAddrPort(f *testing.F) {
	for _, s := range []string{"127.0.0.1:1314", "[::ffff:10.0.0.1]:9", "[2001:db8::1]:443", "0.0.0.0:1", "x:1", "[fe80::1%lo]:5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ap, ok := parseAddrPort(s)
		if !ok {
			return
		}
		if ap.Port() == 0 || ap.Addr().IsUnspecified() || ap.Addr().IsMulticast() || ap.Addr().Is4In6() {
			t.Fatalf("%q parsed to %v", s, ap)
		}
		again, ok := parseAddrPort(ap.String())
		if !ok || again != ap {
			t.Fatalf("%q -> %v -> %v %v", s, ap, again, ok)
		}
	})
}

// FuzzParseRegister: the relay's parser of register packets never panics
// and takes exactly what the clients send.
func FuzzParseRegister(f *testing.F) {
	f.Add(append(append([]byte{pktRegister}, make([]byte, sessionIDLen)...), make([]byte, tokenLen)...))
	f.Add([]byte{pktRegister})
	f.Add([]byte{pktPunch, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Fuzz(func(t *testing.T, p []byte) {
		sid, tok, err := parseRegister(p)
		if err != nil {
			return
		}
		if back := append(append([]byte{pktRegister}, sid[:]...), tok[:]...); !bytes.Equal(back, p) {
			t.Fatalf("%x -> %x", p, back)
		}
	})
}
