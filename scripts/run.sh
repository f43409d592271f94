#!/usr/bin/env bash
# make run: install what pkfs needs, then create a node if the node path has
# none (asking for a password, or taking PK_PASSWORD), then mount the vaults.
# The Makefile builds bin/pkfs before it calls this script.
set -euo pipefail
cd "$(dirname "$0")/.."
pkfs=bin/pkfs

# FUSE: the mount needs fusermount3 (Debian package fuse3) when not root.
if ! command -v fusermount3 >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "run: installing fuse3"
		apt-get update && apt-get install -y fuse3
	else
		echo "run: note: fusermount3 is missing; install the fuse3 package (sudo apt-get install fuse3) to mount vaults"
	fi
fi

if [ ! -x "$pkfs" ]; then
	echo "run: $pkfs is missing; run make run, or make build first" >&2
	exit 1
fi

# keys public needs no password; exit code 4 means there is no node yet.
set +e
out="$("$pkfs" keys public 2>&1)"
rc=$?
set -e
case "$rc" in
0)
	echo "run: using the existing node"
	echo "$out"
	;;
4)
	echo "run: no node yet: creating one (pkfs init)"
	if [ -z "${PK_PASSWORD:-}" ] && [ -z "${PK_PASSWORD_FILE:-}" ] && [ -t 0 ]; then
		# ask once here, so that init and the mount below do not ask again;
		# the background agent does not keep PK_PASSWORD in its environment
		while :; do
			read -r -s -p "new node password: " pw1; echo
			read -r -s -p "again: " pw2; echo
			if [ -z "$pw1" ]; then echo "run: the password cannot be empty"; continue; fi
			if [ "$pw1" != "$pw2" ]; then echo "run: the passwords differ, again"; continue; fi
			break
		done
		export PK_PASSWORD="$pw1"
		unset pw1 pw2
	fi
	"$pkfs" init
	;;
*)
	echo "$out" >&2
	exit "$rc"
	;;
esac

# Mount the vaults at ~/vaults, in the background: the agent keeps running
# after this script; `pkfs umount ~/vaults` stops it.
mnt="${PKFS_MOUNT:-$HOME/vaults}"
mkdir -p "$mnt"
set +e
status="$("$pkfs" agent status 2>/dev/null)"
live=$?
set -e
if [ "$live" = 0 ]; then
	echo "run: an agent already serves this node:"
	echo "$status"
	exit 0
fi
"$pkfs" mount --background "$mnt"
echo
echo "run: your vaults are at $mnt (mkdir $mnt/NAME makes a vault)."
echo "run: every pkfs command now goes through the agent; stop it with: $pkfs umount $mnt"
