// Package p2p connects pkfs nodes: a QUIC transport authenticated by node
// IDs, a small RPC protocol over it, the node graph (addresses and
// Kademlia-style lookups), notifications, vault sharing, and replication
// (clone, pull, live follow).
//
// # Transport
//
// One quic-go Transport per agent on one UDP port; TLS 1.3 with ALPN
// "pkfs/1"; each node presents a self-signed X.509 certificate whose key is
// its Ed25519 root key, and each side pins the peer's node ID in
// VerifyConnection (which also runs on resumed sessions). A client whose
// certificate the server dislikes only learns it on its first stream, so
// the dialer confirms every new connection with an application-level hello
// before using it. One connection per peer is kept, reused, and redialled
// when it drops; keep-alives and idle timeouts bound dead connections.
//
// # RPC
//
// One QUIC stream per request. Every message is a frame:
//
//	version(1) || kind(1) || length(4, big endian) || payload
//
// with kinds request (JSON {"m": method, "b": body}), response (JSON),
// error (JSON {"code", "message"}), data (raw bytes, for packs) and end.
// Control payloads are bounded by MaxControl, data frames by MaxData. Every
// call has a deadline; every handler validates its input and is authorised
// from the authenticated node ID of the connection, never from the message.
// Error codes map to errors in both directions in errors.go. A stream
// whose request is refused is cancelled on its read side, so that a
// misbehaving peer cannot use up its connection's streams; answers have a
// write deadline. The node graph records at most 10,000 nodes it only
// heard of (hellos, lookups), since anyone can make node IDs.
//
// # Replication
//
// A vault shared with a peer (clone and pull permissions) can be cloned by
// it: the owner sends a packfile of exactly the objects the peer lacks,
// computed by walking the new commits and diffing their trees against what
// the peer's head already has (not go-git's upload-pack, whose server
// ignores haves). After each commit the owner tells connected followers,
// which fetch at once (a follower that is not connected is dialled, unless
// it could not be reached in the last 30 s; at start the owner announces
// the heads of its vaults); followers also compare heads when a connection
// to the origin comes up and periodically, so they catch up after being
// away. A pack must hold every object its head needs, and the head must
// descend from the replica's: otherwise the replica does not move.
package p2p
