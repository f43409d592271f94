// Package kvstore is the node's encrypted key-value store: goleveldb on disk,
// every value sealed and every key a MAC, so the database shows an attacker
// only counts and sizes.
//
// # Layout
//
// Logical data lives in named buckets ("vaults", "vault/<id>/objects", ...).
// A bucket has its own key, derived with HKDF from the data key or from a
// per-vault key. On disk an entry is
//
//	key   = tag(8) || HMAC-SHA256(bucket MAC key, logical key)
//	value = XChaCha20-Poly1305(bucket key, uvarint(len(k)) || k || v,
//	                           ad = "pkfs kv v1" || on-disk key)
//
// where tag is a MAC of the bucket name: entries of a bucket are contiguous
// (so a bucket can be listed or dropped) yet neither names nor logical keys
// appear on disk. Because the on-disk key is the associated data, a value
// copied under another key fails to open. Logical keys come back from
// iteration because they are sealed inside the value.
//
// # Durability
//
// Batches are atomic. Write with sync=true returns after the batch is on disk
// (one fsync); unsynced writes reach the OS at once (they survive the process
// being killed) and are synced by a background loop at least once a second.
package kvstore
