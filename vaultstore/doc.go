// Package vaultstore keeps vaults: bare git repositories whose objects and
// refs live encrypted in the node's store, read and written without a
// worktree, one commit per change.
//
// # Model
//
// A vault has a random 16-byte ID (text: multibase base58btc, "z…"), a name
// unique on the node, its own key (sealed under the data key), and branch
// main. Each mutation (write, remove, mkdir, rename, symlink, chmod, or a
// transaction of several) is one commit whose new objects, the ref and the
// metadata index move in one store batch: a crash leaves the old or the new
// head, never a head that points at a missing object. With Sync the batch is
// durable against a power cut when the call returns; otherwise the store
// syncs within a second.
//
// # Objects
//
// Per vault, four buckets: meta (object hash → type, size, and either the
// content inline, for objects up to InlineLimit, or the prefix of its
// chunks), chunks (ChunkSize pieces of large objects), refs, and the mtime
// index (path → time of the last commit that changed it). A file's size and
// mtime are known without decrypting its content. Every read is
// authenticated by the store; inline objects also have their git hash
// rechecked on every read, chunked ones when read through to the end and by
// Verify.
//
// Commits rewrite only the trees on the changed paths (see tx.go); decoded
// trees are cached by hash. History is never rewritten: reverting writes a
// new commit whose tree equals the old one.
//
// # Replication
//
// MissingObjects lists what a replica lacks; ExportPack writes it as a git
// packfile (version 2, whole objects only; see pack.go), ImportPack reads
// one from a peer, streaming and within PackLimits, and FastForward moves
// a replica's head once everything it needs is stored. go-git's types
// stay inside this package: callers see Hash, VaultID and the pack API.
//
// # Names
//
// Text of the form of a vault ID always means that ID (Store.Vault);
// names cannot take that form. VaultByName looks a name up as a name only
// (the mount's directories), for a vault named so by an older version.
//
// # Several writers
//
// Every holder with a write grant commits (docs/multi-writer.md). Each
// vault has a grants log signed by its owner (grants*.go); every commit a
// node makes is signed by it (commit_codec.go, commit_sign.go). Integrate
// takes a peer's head whose objects are stored, checks every commit that
// is new to us (accept.go), then fast-forwards or merges (merge*.go): the
// merge is a pure function of the two heads, so every holder that merges
// them writes the same commit, and a holder accepts a merge only if it
// recomputes. Integrate, commits and grants changes hold the vault's commit
// lock.
package vaultstore
