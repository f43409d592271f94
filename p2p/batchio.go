package p2p

import (
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/net/ipv4"
)

// Relayed traffic is many small packets: its sockets read and write them
// in batches (recvmmsg and sendmmsg on Linux), a system call for up to
// batchSize packets, as quic-go does on the node's own socket. They are
// IPv4 sockets: a relay is reached over IPv4.
const batchSize = 32

// listenRelaySocket opens an IPv4 UDP socket for relayed traffic on host
// (any IPv4 address when host is unspecified) and port (0: a free one).
func listenRelaySocket(host string, port int) (*net.UDPConn, error) {
	ip := net.IPv4zero
	if a, err := netip.ParseAddr(host); err == nil && a.Unmap().Is4() && !a.IsUnspecified() {
		ip = net.IP(a.Unmap().AsSlice())
	}
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: ip, Port: port})
	if err != nil {
		return nil, fmt.Errorf("failed to open a socket for relayed traffic on %s port %d: %w", ip, port, err)
	}
	_ = c.SetReadBuffer(4 << 20)
	_ = c.SetWriteBuffer(4 << 20)
	return c, nil
}

// udp4Addr returns a as the address of an IPv4 socket, or false when it is
// not IPv4.
func udp4Addr(a netip.AddrPort) (*net.UDPAddr, bool) {
	ip := a.Addr().Unmap()
	if !ip.Is4() {
		return nil, false
	}
	return &net.UDPAddr{IP: net.IP(ip.AsSlice()), Port: int(a.Port())}, true
}

// batchReader hands out the packets of a socket one by one, reading them
// a batch at a time. One goroutine uses it.
type batchReader struct {
	pc   *ipv4.PacketConn
	msgs []ipv4.Message
	n, i int // messages read, and handed out
}

func newBatchReader(c *net.UDPConn) *batchReader {
	r := &batchReader{pc: ipv4.NewPacketConn(c), msgs: make([]ipv4.Message, batchSize)}
	for i := range r.msgs {
		r.msgs[i].Buffers = [][]byte{make([]byte, maxPacketSize)}
	}
	return r
}

// buffered reports whether packets of the last batch wait to be handed
// out.
func (r *batchReader) buffered() bool { return r.i < r.n }

// next returns the next packet and its source; p is valid until the next
// call.
func (r *batchReader) next() (p []byte, from netip.AddrPort, err error) {
	for r.i >= r.n {
		r.i, r.n = 0, 0
		if r.n, err = r.pc.ReadBatch(r.msgs, 0); err != nil {
			return nil, from, err
		}
	}
	m := &r.msgs[r.i]
	r.i++
	if ua, ok := m.Addr.(*net.UDPAddr); ok {
		from = addrPortOf(ua)
	}
	return m.Buffers[0][:m.N], from, nil
}

// batchSender collects packets to send and sends them in one system
// call. One goroutine uses it.
type batchSender struct {
	pc   *ipv4.PacketConn
	msgs []ipv4.Message
	bufs [][]byte
}

func newBatchSender(c *net.UDPConn) *batchSender {
	s := &batchSender{pc: ipv4.NewPacketConn(c), msgs: make([]ipv4.Message, 0, batchSize), bufs: make([][]byte, batchSize)}
	for i := range s.bufs {
		s.bufs[i] = make([]byte, maxPacketSize)
	}
	return s
}

// add queues a copy of p for to, sending the batch first when it is full.
func (s *batchSender) add(p []byte, to *net.UDPAddr) {
	if len(s.msgs) == batchSize {
		s.flush()
	}
	b := s.bufs[len(s.msgs)]
	s.msgs = append(s.msgs, ipv4.Message{Buffers: [][]byte{b[:copy(b, p)]}, Addr: to})
}

// flush sends what was added; a packet that fails is lost, as on any
// network (QUIC sends it again).
func (s *batchSender) flush() {
	ms := s.msgs
	for len(ms) > 0 {
		n, err := s.pc.WriteBatch(ms, 0)
		if err != nil {
			n = max(n, 1) // skip the message that failed
		}
		ms = ms[n:]
	}
	s.msgs = s.msgs[:0]
}

// pending reports whether packets wait to be sent.
func (s *batchSender) pending() bool { return len(s.msgs) > 0 }
