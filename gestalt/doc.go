// Package gestalt keeps who a node trusts and what it lets them do: the
// permissions (ACL) of other nodes, gestalt-wide and per vault.
//
// # Actions
//
// Gestalt actions apply to a node as a whole: notify (its notifications are
// accepted; "trust" is notify), scan (it may list the vaults shared with
// it), claim (it may link itself to us). Vault actions apply per vault:
// clone and pull. Every request from a peer is authorised from its
// authenticated node ID, never from anything the peer claims.
//
// Permissions live in the node's encrypted store. Linking nodes into
// gestalts (sigchains, identities) widens these per-node permissions to
// whole gestalts in a later issue.
package gestalt
