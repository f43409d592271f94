// Package gestalt keeps who a node trusts and what it lets them do: the
// sigchains of signed claims that link nodes and identities into gestalts,
// the gestalt graph, and the permissions (ACL) answered for whole gestalts.
//
// # Actions
//
// Gestalt actions apply to a node as a whole: notify (its notifications are
// accepted; "trust" is notify), scan (it may list the vaults shared with
// it), claim (it may link itself to us). Vault actions apply per vault:
// clone and pull. Every request from a peer is authorised from its
// authenticated node ID, never from anything the peer claims.
//
// # Gestalts
//
// Each node keeps a sigchain: an append-only, hash-chained list of claims,
// each entry signed by the node (VerifyChain checks a whole chain). A link
// claim is signed by both of its nodes; an identity claim is signed by its
// node and published on the identity's provider (Provider), so anyone can
// read it back. The Graph records what each discovered vertex's verified
// claims declare; two vertices are linked when both declare each other (a
// node not discovered yet counts as agreeing to a doubly signed link, an
// identity never does), so either side can break a link. A node may do what
// any vertex of its gestalt was allowed: a node linked later gains it, an
// unlinked node loses it once the unlink is discovered. Self stands for
// this node's own gestalt in vault permissions.
//
// Permissions and the graph live in the node's encrypted store.
package gestalt
