package p2p

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/pkfs/pkfs/keyring"
)

// ALPN is the application protocol of pkfs over QUIC.
const ALPN = "pkfs/1"

// ErrPeerID is returned when a peer's certificate is not the node it should be.
var ErrPeerID = errors.New("peer presented another node's key")

// certificate makes the node's self-signed certificate from its root key.
func certificate(priv ed25519.PrivateKey) (tls.Certificate, error) {
	pub := priv.Public().(ed25519.PublicKey)
	id, _ := keyring.NodeIDFromBytes(pub)
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: id.String()},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(10 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("failed to make the node certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv}, nil
}

// peerID returns the node ID of a certificate chain: the Ed25519 key of a
// self-signed leaf whose signature checks.
func peerID(certs []*x509.Certificate) (keyring.NodeID, error) {
	if len(certs) == 0 {
		return keyring.NodeID{}, errors.New("no peer certificate")
	}
	c := certs[0]
	pub, ok := c.PublicKey.(ed25519.PublicKey)
	if !ok {
		return keyring.NodeID{}, errors.New("peer certificate is not Ed25519")
	}
	if err := c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature); err != nil {
		return keyring.NodeID{}, fmt.Errorf("peer certificate is not self-signed: %w", err)
	}
	return keyring.NodeIDFromBytes(pub)
}

// serverTLS accepts any node (authorisation is per request) but requires a
// valid node certificate.
func serverTLS(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		Certificates:       []tls.Certificate{cert},
		MinVersion:         tls.VersionTLS13,
		NextProtos:         []string{ALPN},
		ClientAuth:         tls.RequireAnyClientCert,
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			_, err := peerID(cs.PeerCertificates)
			return err
		},
	}
}

// clientTLS pins the server to the node ID we dial.
func clientTLS(cert tls.Certificate, want keyring.NodeID) *tls.Config {
	return &tls.Config{
		Certificates:       []tls.Certificate{cert},
		MinVersion:         tls.VersionTLS13,
		NextProtos:         []string{ALPN},
		InsecureSkipVerify: true, // no CA: the node ID is checked below
		ServerName:         "pkfs",
		VerifyConnection: func(cs tls.ConnectionState) error {
			id, err := peerID(cs.PeerCertificates)
			if err != nil {
				return err
			}
			if id != want {
				return fmt.Errorf("%w: dialled %s, got %s", ErrPeerID, want, id)
			}
			return nil
		},
	}
}
