// Package fs shows the vaults of a node as a FUSE filesystem (go-fuse),
// every change a version.
//
// # Layout
//
//	<mount>/<vault>/...            HEAD of each vault, read-write
//	<mount>/.history/<vault>/<rev>/ any revision, read-only (EROFS)
//
// mkdir at the root creates a vault, rename there renames one; deleting a
// vault is a CLI command only (EPERM here).
//
// # Writes and commits
//
// A file opened for writing gets an in-memory copy of its content (a
// fileState shared by every handle of the inode). Flush (close of a
// descriptor open for writing) and Fsync of a dirty file commit it: close
// returns after the commit is written (it survives kill -9), fsync after it
// is synced (it survives a power cut). A reader's close commits nothing, and
// neither does the close of a file created or emptied by O_TRUNC and not
// written since (a shell redirection closes a dup before it writes): those
// commit at release. Every other close is a commit point, also the one a
// forked child makes when exec closes the descriptors it inherited: a
// program that forks while it writes a file makes a version of what it has
// written so far.
// Namespace operations (mkdir, rmdir, unlink, rename, symlink, chmod,
// truncate without an open file) are one commit each. A file created with
// creat(2) lives only in memory, visible to lookups through its inode, until
// its first close or fsync commits it.
//
// Editors' scratch files (vim and nano swap files, vim's write probes,
// emacs lock and auto-save files; see scratchName) hold the plaintext being
// edited and change constantly: they live in the mount's memory only and
// are never committed, so a vim edit is one version and no swap file lands
// in history or on a peer.
//
// # Inodes
//
// Inodes are dynamic: they exist while the kernel holds them, so memory does
// not grow with vault size. An inode number is a hash of (vault ID, path,
// generation); the generation of a path only moves when an inode still alive
// leaves that path (rename, unlink), so numbers are stable per path and no
// two live files share one.
//
// # Kernel caching
//
// Lookup, Create and Getattr fill attributes through one function, so the
// kernel never sees two versions of a file's attributes and keeps its page
// cache (FOPEN_KEEP_CACHE) while the content is unchanged. Commits made
// outside the mount (the CLI through the agent, a pull from a peer) arrive
// as vaultstore events; a worker goroutine, outside every FUSE handler and
// lock, invalidates the kernel's entries and pages for the changed paths.
//
// # Errors
//
// Errors become errnos in one place, errno.go; damaged objects give EIO and
// the mount keeps serving everything else.
package fs
