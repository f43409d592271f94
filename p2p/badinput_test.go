package p2p

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
)

// rawConn dials to from from's transport, pinned to to's node ID, without
// the hello: the test speaks the wire format by hand.
func rawConn(t *testing.T, from, to *testNode) *quic.Conn {
	t.Helper()
	c, err := from.tr.Dial(ctx(t), to.Addr(), clientTLS(from.cert.c, to.ID()), quicConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseWithError(0, "test done") })
	return c
}

// exchange sends raw bytes on a new stream, closes its send side, and reads
// the first frame of the answer.
func exchange(t *testing.T, c *quic.Conn, raw []byte) (frame, error) {
	t.Helper()
	s, err := c.OpenStreamSync(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	s.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := s.Write(raw); err != nil {
		t.Fatal(err)
	}
	s.Close()
	return readFrame(s)
}

func hdr(version, kind byte, n uint32) []byte {
	h := []byte{version, kind, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(h[2:], n)
	return h
}

func rawFrame(kind byte, payload string) []byte {
	return append(hdr(WireVersion, kind, uint32(len(payload))), payload...)
}

func rawRequest(method, body string) []byte {
	p, _ := json.Marshal(map[string]any{"m": method, "b": json.RawMessage(body)})
	return rawFrame(kindRequest, string(p))
}

// TestMalformedMessages sends bad frames on raw streams: each is answered
// with an error of the right code, and the node keeps serving the same
// connection and other nodes.
func TestMalformedMessages(t *testing.T) {
	a, b, c := newTestNode(t), newTestNode(t), newTestNode(t)
	conn := rawConn(t, a, b)
	tests := []struct {
		name string
		raw  []byte
		want error
	}{
		{"garbage", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), ErrVersion},
		{"wire version 2", append(hdr(2, kindRequest, 2), "{}"...), ErrVersion},
		{"wire version 0", append(hdr(0, kindRequest, 2), "{}"...), ErrVersion},
		{"4 GiB request", append(hdr(WireVersion, kindRequest, 0xffffffff), "{}"...), ErrTooLarge},
		{"request just over MaxControl", append(hdr(WireVersion, kindRequest, MaxControl+1), bytes.Repeat([]byte{'x'}, 4096)...), ErrTooLarge},
		{"data frame over MaxData", append(hdr(WireVersion, kindData, MaxData+1), "x"...), ErrTooLarge},
		{"unknown frame kind", hdr(WireVersion, 9, 0), ErrBadRequest},
		{"truncated payload", append(hdr(WireVersion, kindRequest, 100), "{\"m\":"...), ErrBadRequest},
		{"truncated header", []byte{WireVersion, kindRequest, 0}, ErrBadRequest},
		{"nothing at all", nil, nil}, // EOF before a frame: no answer
		{"a response instead of a request", rawFrame(kindResponse, "{}"), ErrBadRequest},
		{"a data frame first", rawFrame(kindData, "abc"), ErrBadRequest},
		{"payload not JSON", rawFrame(kindRequest, "\x00\xff not json"), ErrBadRequest},
		{"JSON array", rawFrame(kindRequest, "[1,2]"), ErrBadRequest},
		{"no method", rawFrame(kindRequest, `{"b":{}}`), ErrBadRequest},
		{"method too long", rawRequest(strings.Repeat("m", 65), "{}"), ErrBadRequest},
		{"unknown method", rawRequest("vaults.delete", "{}"), ErrUnknownMethod},
		{"unknown method, odd bytes", rawRequest("\u2028\x01", "{}"), ErrUnknownMethod},
		{"body of the wrong type", rawRequest("nodes.closest", `"a string"`), ErrBadRequest},
		{"bad node ID in the body", rawRequest("nodes.closest", `{"target":"vnope"}`), ErrBadRequest},
		{"unknown field in the body", rawRequest("nodes.ping", `{"x":1}`), ErrBadRequest},
		{"hello claiming another node", rawRequest("hello", `{"nodeId":"`+c.ID().String()+`","port":1,"version":1}`), ErrPermission},
		{"hello of another version", rawRequest("hello", `{"nodeId":"`+a.ID().String()+`","port":1,"version":2}`), ErrVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := exchange(t, conn, tt.raw)
			if tt.want == nil {
				if !errors.Is(err, io.EOF) {
					t.Fatalf("want the stream closed without an answer, got %+v %v", f, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			if f.kind != kindError {
				t.Fatalf("answer of kind %d: %q", f.kind, f.payload)
			}
			if got := decodeError(f.payload); !errors.Is(got, tt.want) {
				t.Fatalf("answer %v, want %v", got, tt.want)
			}
		})
	}
	// the same connection still works, and so does another node's
	f, err := exchange(t, conn, rawRequest("nodes.ping", "{}"))
	if err != nil || f.kind != kindResponse {
		t.Fatalf("ping on the raw connection after bad input: %+v %v", f, err)
	}
	c.know(t, b)
	if _, err := c.Ping(ctx(t), b.ID()); err != nil {
		t.Fatalf("b stopped serving others: %v", err)
	}
}

// TestManyBadStreamsDoNotExhaustAConnection refuses more oversized requests
// on one connection than it may have streams open at once: refused streams
// must be released, or the peer's next call would block.
func TestManyBadStreamsDoNotExhaustAConnection(t *testing.T) {
	a, b := newTestNode(t), newTestNode(t)
	conn := rawConn(t, a, b)
	big := append(hdr(WireVersion, kindRequest, 0xffffffff), bytes.Repeat([]byte{'x'}, 1000)...)
	for i := 0; i < int(quicConfig().MaxIncomingStreams)+50; i++ {
		f, err := exchange(t, conn, big)
		if err != nil || f.kind != kindError {
			t.Fatalf("stream %d: %+v %v", i, f, err)
		}
	}
	// and the connection is not wedged: a good call goes through
	cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := conn.OpenStreamSync(cctx)
	if err != nil {
		t.Fatalf("no stream left on the connection: %v", err)
	}
	s.SetDeadline(time.Now().Add(5 * time.Second))
	s.Write(rawRequest("nodes.ping", "{}"))
	s.Close()
	if f, err := readFrame(s); err != nil || f.kind != kindResponse {
		t.Fatalf("ping after many bad streams: %+v %v", f, err)
	}
}

// forgedCert is a certificate that carries victim's public key but is
// signed, and used, with the impostor's private key.
func forgedCert(t *testing.T, victim ed25519.PublicKey, impostor ed25519.PrivateKey) tls.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pkfs"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, victim, impostor)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: impostor}
}

// TestPeerPresentingAnotherNodesID: a client that presents b's node ID
// without b's key gets no answer from a, and a node dialled as b that
// is really c is refused (TestWrongNodeIDRefused covers c's own key).
func TestPeerPresentingAnotherNodesID(t *testing.T) {
	a, b, c := newTestNode(t), newTestNode(t), newTestNode(t)
	// c presents b's public key in a certificate it signs itself
	cert := forgedCert(t, b.kr.PrivateKey().Public().(ed25519.PublicKey), c.kr.PrivateKey())
	cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := c.tr.Dial(cctx, a.Addr(), clientTLS(cert, a.ID()), quicConfig())
	if err == nil {
		// the client's handshake can complete before the server checks:
		// the first stream must fail, and a must not know c as b
		defer conn.CloseWithError(0, "")
		s, err := conn.OpenStreamSync(cctx)
		if err == nil {
			s.SetDeadline(time.Now().Add(3 * time.Second))
			s.Write(rawRequest("nodes.ping", "{}"))
			s.Close()
			if f, err := readFrame(s); err == nil {
				t.Fatalf("a answered a forged certificate: %+v", f)
			}
		}
	}
	if a.Connected(b.ID()) {
		t.Fatal("a registered a connection from b that b never made")
	}
	// a server that presents the forged certificate to a client dialling b
	srvCfg := serverTLS(cert)
	ln, err := quic.ListenAddr("127.0.0.1:0", srvCfg, quicConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept(context.Background())
			if err != nil {
				return
			}
			go func() { time.Sleep(time.Second); c.CloseWithError(0, "") }()
		}
	}()
	a.Graph.Add(NodeAddress{NodeID: b.ID(), Host: "127.0.0.1", Port: ln.Addr().(*net.UDPAddr).Port})
	if _, err := a.Ping(ctx(t), b.ID()); err == nil {
		t.Fatal("a accepted a forged certificate for b")
	}
	if a.Connected(b.ID()) {
		t.Fatal("a keeps a connection to the impostor")
	}
}

// TestGraphEvictsOldLearnedNodes: nodes the graph learns by itself fill
// it up to a bound; past it, a new one evicts the learned node seen least
// recently. Nodes added by hand or as seeds are never evicted, and a known
// node that moves is updated.
func TestGraphEvictsOldLearnedNodes(t *testing.T) {
	old := maxLearned
	maxLearned = 3
	t.Cleanup(func() { maxLearned = old })
	a := newTestNode(t)
	manual := NodeAddress{NodeID: newTestNode(t).ID(), Host: "127.0.0.1", Port: 1}
	if err := a.Graph.Add(manual); err != nil {
		t.Fatal(err)
	}
	var ids []NodeAddress
	for i := range 5 {
		n := NodeAddress{NodeID: newTestNode(t).ID(), Host: "127.0.0.1", Port: 10 + i, LastSeen: time.Unix(int64(1000+i), 0).UTC()}
		if err := a.Graph.Learn(n); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, n)
	}
	all, _ := a.Graph.All()
	if len(all) != 3 {
		t.Fatalf("the graph holds %d nodes, the bound is 3", len(all))
	}
	for _, want := range []NodeAddress{manual, ids[3], ids[4]} {
		if _, err := a.Graph.Get(want.NodeID); err != nil {
			t.Fatalf("%+v was evicted", want)
		}
	}
	// a known node that moves is updated, and stays as it was added
	if err := a.Graph.Learn(NodeAddress{NodeID: manual.NodeID, Host: "127.0.0.2", Port: 9}); err != nil {
		t.Fatal(err)
	}
	if got, _ := a.Graph.Get(manual.NodeID); got.Host != "127.0.0.2" || got.Learned {
		t.Fatalf("known node not updated: %+v", got)
	}
	// a graph of nodes added by hand only takes no learned node
	maxLearned = 1
	for _, n := range []NodeAddress{ids[3], ids[4]} {
		a.Graph.Remove(n.NodeID)
	}
	if err := a.Graph.Learn(ids[0]); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("learned past a full graph of manual nodes: %v", err)
	}
}
