// Package p2p connects pkfs nodes: a QUIC transport authenticated by node
// IDs, a small RPC protocol over it, the node graph (addresses and
// Kademlia-style lookups), reaching nodes behind NATs (observed
// addresses, hole punching, relays, LAN discovery), notifications, vault
// sharing, and replication (clone, pull, live follow).
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
// write deadline. A caller that refuses the data of an answer (a bad
// pack) cancels the stream with the wire code as QUIC error code.
//
// # Limits
//
// A frame's payload is allocated as its bytes arrive (4 KiB first, then
// doubling), never at the size its header announces, and a request must
// be whole within CallTimeout or its stream is cancelled. Per connection
// a peer may open MaxStreamsPerConn (64) streams at once and no
// unidirectional ones; a node ID may hold MaxConnsPerPeer (4) connections
// with us (a new one closes the oldest); an IP address MaxConnsPerAddr
// (16) inbound connections, and all peers MaxConns (256), handshakes
// included (counted from a client's first packet, refused before the
// handshake past the limit). Receive windows start at 256 KiB per stream
// and 512 KiB per connection, so a stalled connection holds little. Any
// peer can make node IDs at will: the caps per address and in total are
// what bound a flood, the cap per node ID what keeps one node from taking
// its address's share.
//
// # Node graph
//
// The node graph (on disk) holds nodes added by hand or as seeds, which
// stay until removed, and nodes the node learned by itself, which are
// evicted (the one seen least recently first) when the graph holds
// 10,000 nodes. A node is learned only when an outbound contact confirmed
// it (we dialled its address and its key was its node ID), or when a
// trusted peer (one of our gestalt, one we accept notifications from, or
// one we share a vault with) told us of it: its own address in its
// hello, or others' in a lookup. Everything else — the hello of a
// stranger, the answers of untrusted peers in a lookup — is a hint kept
// in memory only (1,024 at most, for an hour, the oldest evicted first),
// which a dial may try and then confirms. A node known with one address
// whose hello comes from another is dialled at the more recent first.
// Nodes learned from hellos by older versions (before this rule) stay in
// the graph until removed by hand.
//
// A lookup's answer (nodes.closest) holds the K nodes of the graph closest
// to the target, each with the address we see it at when we are
// connected to it (Observed: its NAT's mapping), and the target itself
// when it is connected to us but not in our graph: that is how nodes
// behind NATs, strangers to a seed, find each other through it. The other
// nodes connected to us are never listed. Observed addresses are kept in
// memory only (hints), never in the graph.
//
// # Reaching nodes behind NATs
//
// Observed addresses: a peer's answer to hello carries the address it
// sees the caller at (as STUN does). A node keeps up to 8 such addresses
// with who reported them (the most reported first, forgotten after an
// hour) and shows them in agent status and nodes addresses.
//
// A dial tries the known addresses and, after a second (a quarter of one
// when the address is an unconfirmed hint; at once when there is none),
// also the way through peers; the first connection that comes up wins:
//
//   - Hole punching (punch.go): we ask a peer connected to both of us (a
//     seed first) to introduce us: it signals the target (reach.signal)
//     with where it sees us, the target sends a few punch packets to
//     those addresses from its one socket (its NAT now lets us in), and
//     we dial the addresses the introducer answered, twice at most. The
//     connection is the usual TLS-pinned one; both sides call it
//     "punched". Punch packets are non-QUIC datagrams on the node's own
//     socket (first byte 0x01), so they use the mapping peers observed.
//     Introducers serve only for nodes they are connected to, and limit
//     requests per caller (one per 2 s, bursts of 10); targets limit
//     signals per signaller and in all, and send at most 6 packets to at
//     most 6 addresses per signal.
//   - Relays (relay.go, relaynet.go), when no punch works (symmetric
//     NATs): a node started with --relay (or --seed) forwards packets
//     between two nodes connected to it, on a UDP socket of its own
//     (port 1316 by default). relay.open asks for a session; the relay
//     offers it to the peer (relay.offer), which may take it; each end
//     gets a random token over its own authenticated connection and
//     registers a socket of its own for the session with it. The relay
//     then forwards the QUIC packets that come from one registered
//     address to the other, and nothing else: QUIC with TLS runs end to
//     end, pinned to the two node IDs, so the relay can drop traffic but
//     not read or alter it (a packet it changes fails QUIC's
//     authentication and is sent again). Caps: 64 sessions, 8 per node,
//     32 nodes, 32 MiB/s in all (flags change them); idle sessions end
//     after 2 minutes. The dialler of a relayed connection tries a punch
//     again after 10 s, then on a doubling back-off up to 5 minutes, and
//     moves to the punched connection when one comes up.
//
// Relayed traffic is reached over IPv4. Nothing of this sends a packet to
// an address that neither the user nor a peer we talk to gave.
//
// # LAN discovery
//
// Off unless asked (--local-discovery, or `pkfs nodes local-discovery
// on`, a setting kept in the store). The node broadcasts a signed
// announcement (lanwire.go: node ID, port, addresses, time, nonce,
// Ed25519 signature) to the broadcast address of each IPv4 network it is
// on, UDP port 1315, at start, after 1 and 3 s, then every 10 s, and listens for
// others'. An announcement counts only when its signature is the
// announced node's, its time within a minute of ours, its nonce unseen
// (replays are counted and dropped), and it comes from an address it
// announces; the address is then a hint, which a dial confirms.
//
// # Seed nodes
//
// A seed is an agent started with `pkfs agent start --seed`: no mount,
// relay on, every table bounded (hints, relay sessions, rate limiters, the
// graph). Nodes name seeds with PK_SEED_NODES; they connect to them at
// start and every 30 s when not connected, which keeps their NAT mappings
// open for signals. pkfs has no built-in seed.
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
// descend from the replica's: otherwise the replica does not move. Packs
// are read by vaultstore.ImportPack, streaming, within
// vaultstore.DefaultPackLimits (no deltas; 2 GiB on the wire, 8 GiB
// inflated; each blob at most 1 GiB, tree 8 MiB, commit 1 MiB).
//
// Every request names a vault by its ID, except vaults.info, which takes
// what the peer's user typed (an ID, or a name: names never have the form
// of an ID). A vault's name from a peer that is not valid here (or has
// the form of an ID) is replaced by one of ours at clone time.
package p2p
