package vaultstore

// Packs are how vaults replicate: git packfiles (version 2) without
// deltas, written and read here by vaultstore's own streaming codec. The
// format, as both sides use it:
//
//	"PACK" || version (4 bytes, 2) || object count (4 bytes)
//	per object: type and inflated size (git's varint), zlib stream
//	SHA-1 of everything before it (20 bytes)
//
// Object types 1 (commit), 2 (tree) and 3 (blob) only: pkfs never sends
// deltas (6, 7) or tags (4) — neither did older nodes, whose go-git
// encoder ran with a delta window of 0 — so a pack that holds one is
// refused. A git implementation reads our packs (`git index-pack` accepts
// them).

// PackLimits bound a pack from a peer. Memory stays bounded whatever they
// are: one object is decoded at a time, blobs stream into the chunk store
// and only trees and commits (bounded by MaxTree and MaxCommit) are held
// whole. The limits bound what one pack can make this node inflate and
// store.
type PackLimits struct {
	MaxBytes    int64 // the pack as received
	MaxObjects  int   // objects in the pack
	MaxBlob     int64 // inflated size of one blob (at most MaxFileSize)
	MaxTree     int64 // of one tree
	MaxCommit   int64 // of one commit
	MaxInflated int64 // of all objects together
}

// Bounds of the objects of a pack, by default.
const (
	// MaxTreeSize is the largest tree a pack may hold, encoded: a directory
	// of about 29,000 entries of 255-byte names, or 290,000 short ones.
	MaxTreeSize = 8 << 20
	// MaxCommitSize is the largest commit a pack may hold. Our commits are
	// under 1 KiB, plus a generated message of at most 100 paths.
	MaxCommitSize = 1 << 20
)

// DefaultPackLimits are the limits of a fetch: a pack of at most 2 GiB on
// the wire, 4 Mi objects, and 8 GiB once inflated; each blob at most
// MaxFileSize, each tree MaxTreeSize, each commit MaxCommitSize.
func DefaultPackLimits() PackLimits {
	return PackLimits{MaxBytes: 2 << 30, MaxObjects: 4 << 20, MaxBlob: MaxFileSize,
		MaxTree: MaxTreeSize, MaxCommit: MaxCommitSize, MaxInflated: 8 << 30}
}

// PackStats describe an imported pack.
type PackStats struct {
	Objects  int   // objects in the pack
	Commits  int   // of which commits
	Bytes    int64 // pack bytes read
	Inflated int64 // sum of the objects' sizes
}
