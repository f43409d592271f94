#!/usr/bin/env bash
# The replication benchmarks of make bench (issue 5): agents with real mounts
# on 127.0.0.1, driven through the built pkfs (internal/benchp2p):
#   - commit on A -> readable through B's mount: p50/p99 over 100 commits
#     (target p99 <= 100 ms);
#   - clone time of a vault of 10,000 files with 1,000 commits of history;
#   - bytes on the wire for a one-file commit in that vault, counted by a
#     UDP relay between the follower and A (target: O(change), a few KB).
#
#   BENCH_P2P=0               skip them
#   BENCH_P2P_ARGS="..."      more flags for benchp2p (-commits N, -files N,
#                             -history N, -byte-runs N, -clone-runs N,
#                             -cpuprofile DIR)
#   PKFS_BENCH_DIR=DIR        run on DIR's disk (default: TMPDIR)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${BENCH_P2P:-1}" = 0 ]; then
	exit 0
fi
if [ ! -e /dev/fuse ]; then
	echo "bench_p2p: no /dev/fuse here: replication benchmarks skipped"
	exit 0
fi
tmp=$(mktemp -d -p "${PKFS_BENCH_DIR:-${TMPDIR:-/tmp}}" pkfs-bench-p2p.XXXXXX)
cleanup() {
	set +e
	# never remove files through a mount left behind by a failed run
	grep -F " $tmp/" /proc/mounts | awk '{ print $2 }' | while read -r m; do
		fusermount3 -u "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/pkfs" ./cmd/pkfs
go build -o "$tmp/benchp2p" ./internal/benchp2p
echo
# shellcheck disable=SC2086 # BENCH_P2P_ARGS is a list of flags
"$tmp/benchp2p" -pkfs "$tmp/pkfs" -work "$tmp/work" ${BENCH_P2P_ARGS:-}
