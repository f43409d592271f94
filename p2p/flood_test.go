package p2p

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
)

// attackerTransport is a QUIC transport on 127.0.0.2, an address of its
// own: honest test nodes live on 127.0.0.1.
func attackerTransport(t *testing.T) *quic.Transport {
	t.Helper()
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Skipf("no second loopback address: %v", err)
	}
	tr := &quic.Transport{Conn: udp}
	t.Cleanup(func() { tr.Close(); udp.Close() })
	return tr
}

// freshCert is the certificate of a node ID made up on the spot.
func freshCert(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

// stall opens up to n streams on c, each announcing a request of
// MaxControl bytes, sending a few of them, and going quiet. It returns how
// many streams it opened.
func stall(c *quic.Conn, n int) int {
	opened := 0
	for range n {
		s, err := c.OpenStream()
		if err != nil {
			break
		}
		s.Write(append(hdr(WireVersion, kindRequest, MaxControl), "{\"m\":\"nodes.p"...))
		opened++
	}
	return opened
}

// TestStalledStreamFlood: raw QUIC clients with valid made-up identities
// open many connections and, on each, many streams that announce large
// frames and stall; clients with a certificate the node refuses try too.
// The node's heap stays bounded (it allocates what arrives, not what is
// announced; connections and streams are capped), an honest peer is
// served throughout, and the stalled streams time out.
func TestStalledStreamFlood(t *testing.T) {
	old := requestTimeout.Swap(int64(2 * time.Second))
	t.Cleanup(func() { requestTimeout.Store(old) })
	b := newTestNode(t)
	a := newTestNode(t)
	a.know(t, b)
	if _, err := a.Ping(ctx(t), b.ID()); err != nil {
		t.Fatal(err)
	}
	tr := attackerTransport(t)
	stop := heapPeak()
	var mu sync.Mutex
	conns, streams, refused := 0, 0, 0
	var wg sync.WaitGroup
	for i := range 25 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			priv := freshCert(t)
			cert, err := certificate(priv)
			if err != nil {
				t.Error(err)
				return
			}
			if i >= 20 { // a certificate the node refuses: b's key, signed by another
				cert = forgedCert(t, b.kr.PrivateKey().Public().(ed25519.PublicKey), priv)
			}
			cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, err := tr.Dial(cctx, b.Addr(), clientTLS(cert, b.ID()), quicConfig())
			if err != nil {
				mu.Lock()
				refused++
				mu.Unlock()
				return
			}
			n := stall(c, 250)
			mu.Lock()
			conns++
			streams += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	time.Sleep(500 * time.Millisecond) // let b take the streams in
	if _, err := a.Ping(ctx(t), b.ID()); err != nil {
		t.Fatalf("an honest peer during the flood: %v", err)
	}
	grew := stop()
	t.Logf("%d connections opened %d streams, %d refused; b serves %d streams; its heap grew by %d KiB",
		conns, streams, refused, b.activeStreams.Load(), grew>>10)
	if grew > 32<<20 {
		t.Errorf("the node's heap grew by %d MiB", grew>>20)
	}
	if n := b.activeStreams.Load(); n > int64(MaxConnsPerAddr*MaxStreamsPerConn) {
		t.Errorf("b serves %d streams from one address", n)
	}
	waitForIn(t, 11*time.Second, "the stalled streams to time out", func() bool { return b.activeStreams.Load() == 0 })
	if _, err := a.Ping(ctx(t), b.ID()); err != nil {
		t.Fatalf("an honest peer after the flood: %v", err)
	}
}

// waitForIn is waitFor with a deadline of its own.
func waitForIn(t *testing.T, d time.Duration, what string, fn func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !fn() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestConnectionCaps: one node ID keeps at most MaxConnsPerPeer
// connections (a new one closes the oldest); past the total cap, new
// connections are refused at their handshake; an honest peer's
// connection made before is served all along.
func TestConnectionCaps(t *testing.T) {
	b := newTestNode(t)
	a := newTestNode(t)
	a.know(t, b)
	if _, err := a.Ping(ctx(t), b.ID()); err != nil {
		t.Fatal(err)
	}
	tr := attackerTransport(t)
	priv := freshCert(t)
	cert, err := certificate(priv)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := peerID(mustParse(t, cert))
	var cs []*quic.Conn
	for range MaxConnsPerPeer + 3 {
		c, err := tr.Dial(ctx(t), b.Addr(), clientTLS(cert, b.ID()), quicConfig())
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
		f, err := exchange(t, c, rawRequest("nodes.ping", "{}")) // b registers it
		if err != nil || f.kind != kindResponse {
			t.Fatalf("ping: %+v %v", f, err)
		}
	}
	waitFor(t, "the oldest connections to close", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return len(b.live[id]) == MaxConnsPerPeer
	})
	if cs[0].Context().Err() == nil || cs[len(cs)-1].Context().Err() != nil {
		t.Fatal("the oldest connection is open, or the newest closed")
	}

	b.adm.mu.Lock()
	b.adm.maxTotal = b.adm.total // everything open now, and no more
	b.adm.mu.Unlock()
	cctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if c, err := tr.Dial(cctx, b.Addr(), clientTLS(cert, b.ID()), quicConfig()); err == nil {
		c.CloseWithError(0, "")
		t.Fatal("a connection past the total cap was accepted")
	}
	if _, err := a.Ping(ctx(t), b.ID()); err != nil {
		t.Fatalf("the honest peer: %v", err)
	}
}

func mustParse(t *testing.T, c tls.Certificate) []*x509.Certificate {
	t.Helper()
	x, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return []*x509.Certificate{x}
}
