package p2p

import (
	"encoding/hex"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/pkfs/pkfs/internal/cryptocore"
)

// Punch packets share the node's one UDP socket with QUIC: quic-go hands
// over every datagram whose first byte has neither of its two high bits
// set (a QUIC packet always has 0x40, the fixed bit), so they leave from
// the very port (and NAT mapping) that peers observed.
//
//	punch:      0x01 || "pkfs-punch" || 8 random bytes
//
// Relayed traffic has sockets of its own: one on the relay, and one for
// each session on each end. An end registers its session socket's
// address with the token the relay gave it over its authenticated
// connection; from then on the relay forwards the plain QUIC packets
// that come from one end's registered address to the other's (no
// header: the address is the session), and the ends run QUIC on those
// sockets as on any other, batching and discovering the path's MTU.
//
//	register:   0x03 || session ID (8) || token (16)
//	registered: 0x04 || session ID (8)
const (
	pktPunch      byte = 0x01
	pktRegister   byte = 0x03
	pktRegistered byte = 0x04

	punchMagic    = "pkfs-punch"
	sessionIDLen  = 8
	tokenLen      = 16
	registerLen   = 1 + sessionIDLen + tokenLen
	maxPacketSize = 2048 // larger datagrams are not ours
)

var errShortPacket = errors.New("not a register packet")

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

// relayToken lets one end of a session register its address with the
// relay.
type relayToken [tokenLen]byte

func newRelayToken() relayToken {
	var t relayToken
	copy(t[:], cryptocore.RandomBytes(tokenLen))
	return t
}

func (t relayToken) String() string { return hex.EncodeToString(t[:]) }

func parseRelayToken(s string) (relayToken, error) {
	var t relayToken
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != tokenLen {
		return t, fmt.Errorf("%w: relay token", ErrBadRequest)
	}
	copy(t[:], b)
	return t, nil
}

// registerPacket returns the packet that registers an end of session s.
func registerPacket(s sessionID, t relayToken) []byte {
	return append(append([]byte{pktRegister}, s[:]...), t[:]...)
}

// parseRegister reads a register packet.
func parseRegister(p []byte) (sessionID, relayToken, error) {
	var s sessionID
	var t relayToken
	if len(p) != registerLen || p[0] != pktRegister {
		return s, t, errShortPacket
	}
	copy(s[:], p[1:1+sessionIDLen])
	copy(t[:], p[1+sessionIDLen:])
	return s, t, nil
}

// packetStats count the non-QUIC packets the node's socket received.
type packetStats struct {
	punches atomic.Int64 // punch packets
	unknown atomic.Int64 // packets of no known kind
}

// readPackets receives every non-QUIC packet of the socket until the node
// closes. Punch packets are counted: their work was done by the NATs they
// crossed.
func (n *Node) readPackets() {
	defer n.wg.Done()
	buf := make([]byte, maxPacketSize)
	for {
		k, _, err := n.tr.ReadNonQUICPacket(n.ctx, buf)
		if err != nil {
			return
		}
		if k > 0 && buf[0] == pktPunch {
			n.pstats.punches.Add(1)
		} else {
			n.pstats.unknown.Add(1)
		}
	}
}
