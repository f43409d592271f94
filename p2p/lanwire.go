package p2p

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/pkfs/pkfs/keyring"
)

// A LAN announcement says, signed by the node's root key, where the node
// listens on its local networks:
//
//	magic "pkfs-lan" (8) || version 1 (1) || node ID (32) ||
//	time, Unix milliseconds (8) || nonce (16) || port (2) ||
//	count (1, at most 8) || count × (4 || IPv4 (4), or 6 || IPv6 (16)) ||
//	Ed25519 signature (64) of lanSigDomain || every byte before it
//
// Integers are big endian. Nothing else is accepted: no trailing bytes,
// no unknown family or version.
const (
	lanMagic     = "pkfs-lan"
	lanVersion   = 1
	lanSigDomain = "pkfs lan announcement v1\x00"
	lanMaxAddrs  = 8
	lanNonceLen  = 16
	lanSigLen    = 64
	lanFixedLen  = len(lanMagic) + 1 + 32 + 8 + lanNonceLen + 2 + 1
	lanMaxLen    = lanFixedLen + lanMaxAddrs*17 + lanSigLen
)

var errBadAnnouncement = errors.New("malformed LAN announcement")

type announcement struct {
	NodeID keyring.NodeID
	Time   time.Time // to the millisecond
	Nonce  [lanNonceLen]byte
	Port   uint16
	Addrs  []netip.Addr
	Sig    []byte
}

// body returns the announcement's bytes before the signature.
func (a *announcement) body() []byte {
	b := make([]byte, 0, lanMaxLen)
	b = append(b, lanMagic...)
	b = append(b, lanVersion)
	b = append(b, a.NodeID[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(a.Time.UnixMilli()))
	b = append(b, a.Nonce[:]...)
	b = binary.BigEndian.AppendUint16(b, a.Port)
	b = append(b, byte(len(a.Addrs)))
	for _, ip := range a.Addrs {
		if ip.Is4() {
			b = append(b, 4)
		} else {
			b = append(b, 6)
		}
		b = append(b, ip.AsSlice()...)
	}
	return b
}

func signedPart(body []byte) []byte { return append([]byte(lanSigDomain), body...) }

// encode signs the announcement and returns its bytes.
func (a *announcement) encode(sign func([]byte) ([]byte, error)) ([]byte, error) {
	if len(a.Addrs) > lanMaxAddrs {
		return nil, fmt.Errorf("%w: %d addresses", errBadAnnouncement, len(a.Addrs))
	}
	body := a.body()
	sig, err := sign(signedPart(body))
	if err != nil {
		return nil, err
	}
	a.Sig = sig
	return append(body, sig...), nil
}

// decodeAnnouncement parses an announcement strictly; it does not check
// the signature (verify does).
func decodeAnnouncement(p []byte) (announcement, error) {
	var a announcement
	if len(p) < lanFixedLen+lanSigLen || len(p) > lanMaxLen || !bytes.HasPrefix(p, []byte(lanMagic)) {
		return a, errBadAnnouncement
	}
	r := p[len(lanMagic):]
	if r[0] != lanVersion {
		return a, fmt.Errorf("%w: version %d", errBadAnnouncement, r[0])
	}
	id, err := keyring.NodeIDFromBytes(r[1:33])
	if err != nil {
		return a, errBadAnnouncement
	}
	a.NodeID = id
	a.Time = time.UnixMilli(int64(binary.BigEndian.Uint64(r[33:41]))).UTC()
	copy(a.Nonce[:], r[41:57])
	a.Port = binary.BigEndian.Uint16(r[57:59])
	count := int(r[59])
	r = r[60:]
	if count > lanMaxAddrs || a.Port == 0 {
		return a, errBadAnnouncement
	}
	for range count {
		var ip netip.Addr
		switch {
		case len(r) >= 5 && r[0] == 4:
			ip, r = netip.AddrFrom4([4]byte(r[1:5])), r[5:]
		case len(r) >= 17 && r[0] == 6:
			ip, r = netip.AddrFrom16([16]byte(r[1:17])), r[17:]
		default:
			return a, errBadAnnouncement
		}
		a.Addrs = append(a.Addrs, ip)
	}
	if len(r) != lanSigLen {
		return a, errBadAnnouncement
	}
	a.Sig = append([]byte(nil), r...)
	return a, nil
}

// verify checks the signature against the announced node ID.
func (a *announcement) verify() error {
	if err := keyring.Verify(a.NodeID, signedPart(a.body()), a.Sig); err != nil {
		return fmt.Errorf("%w: bad signature", errBadAnnouncement)
	}
	return nil
}
