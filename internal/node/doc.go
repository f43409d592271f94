// Package node owns a node path: its format VERSION, the lock that lets one
// process at a time open it, and the opening of the keyring and the store.
//
// # Layout
//
//	<node path>/VERSION   on-disk format version, "1"
//	<node path>/keys/     the keyring (see package keyring)
//	<node path>/db/       the encrypted store (see package kvstore)
//	<node path>/pkfs.lock held (flock) by the process that has the node open;
//	                      it names that process
//
// Everything is position-independent: no absolute paths, symlinks or sockets
// are stored, so a node path works from a vfat or exFAT USB drive.
package node
