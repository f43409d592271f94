package p2p

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"sync/atomic"

	"github.com/pkfs/pkfs/internal/cryptocore"
)

// Packets that are not QUIC share the node's one UDP socket with QUIC:
// quic-go hands over every datagram whose first byte has neither of its
// two high bits set (a QUIC packet always has 0x40, the fixed bit), so
// punch packets and relayed packets leave from, and arrive at, the very
// port (and NAT mapping) that peers observed.
//
//	punch:   0x01 || "pkfs-punch" || 8 random bytes
//	relayed: 0x02 || session ID (8) || a QUIC packet of two other nodes
const (
	pktPunch byte = 0x01
	pktRelay byte = 0x02

	punchMagic    = "pkfs-punch"
	punchLen      = 1 + len(punchMagic) + 8
	relayHdrLen   = 1 + sessionIDLen
	sessionIDLen  = 8
	maxPacketSize = 2048 // larger datagrams are not ours
)

var errShortPacket = errors.New("short packet")

// sessionID names a relay session; it is not a secret (the relay and the
// two ends know it; the addresses registered for it are what count).
type sessionID [sessionIDLen]byte

func newSessionID() sessionID {
	var s sessionID
	copy(s[:], cryptocore.RandomBytes(sessionIDLen))
	return s
}

func (s sessionID) String() string { return hex.EncodeToString(s[:]) }

// parseSessionID reads the text form (16 hex digits).
func parseSessionID(t string) (sessionID, error) {
	var s sessionID
	b, err := hex.DecodeString(t)
	if err != nil || len(b) != sessionIDLen {
		return s, fmt.Errorf("%w: session ID", ErrBadRequest)
	}
	copy(s[:], b)
	return s, nil
}

// punchPacket returns a fresh punch packet.
func punchPacket() []byte {
	p := append([]byte{pktPunch}, punchMagic...)
	return append(p, cryptocore.RandomBytes(8)...)
}

// relayPacket returns hdr || payload for session s, in buf's storage.
func relayPacket(buf []byte, s sessionID, payload []byte) []byte {
	buf = append(buf[:0], pktRelay)
	buf = append(buf, s[:]...)
	return append(buf, payload...)
}

// parseRelayPacket splits a relayed packet into its session and payload.
func parseRelayPacket(p []byte) (sessionID, []byte, error) {
	var s sessionID
	if len(p) <= relayHdrLen || p[0] != pktRelay {
		return s, nil, errShortPacket
	}
	copy(s[:], p[1:relayHdrLen])
	return s, p[relayHdrLen:], nil
}

// packetStats count the non-QUIC packets the node received.
type packetStats struct {
	punches atomic.Int64 // punch packets received
	unknown atomic.Int64 // packets of no known kind
}

// readPackets receives every non-QUIC packet of the socket until the node
// closes: punch packets are counted (their work was done by the NAT they
// crossed), relayed packets go to the relay (we forward them) or to the
// relay client (they are for us).
func (n *Node) readPackets() {
	defer n.wg.Done()
	buf := make([]byte, maxPacketSize)
	for {
		k, from, err := n.tr.ReadNonQUICPacket(n.ctx, buf)
		if err != nil {
			return
		}
		p := buf[:k]
		ua, ok := from.(*net.UDPAddr)
		if !ok || k == 0 {
			continue
		}
		switch p[0] {
		case pktPunch:
			n.pstats.punches.Add(1)
		case pktRelay:
			if !n.rnet.deliver(p, ua) {
				n.relay.forward(p, ua)
			}
		default:
			n.pstats.unknown.Add(1)
		}
	}
}
