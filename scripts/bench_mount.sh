#!/usr/bin/env bash
# The mount benchmarks of make bench (issue 4): the same workloads on a plain
# directory, a pkfs mount and a gocryptfs mount, in one run, printed as a
# table of medians with ratios and targets (internal/benchmount).
#
#   BENCH_MOUNT=0                 skip them
#   BENCH_MOUNT_RUNS=5            runs per target (medians)
#   BENCH_MOUNT_ARGS="-quick"     more flags for benchmount (-skip-mount-time, -quick)
#   BENCH_MOUNT_CPUPROFILE=DIR    write a CPU profile of every pkfs agent to DIR
#                                 (the agent honours PKFS_CPUPROFILE=FILE)
#   PKFS_BENCH_DIR=DIR            run on DIR's disk (default: TMPDIR)
#
# gocryptfs is installed with apt-get when missing and run as root; without
# it its column is skipped with a note. Cold figures drop the page cache,
# which needs root.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${BENCH_MOUNT:-1}" = 0 ]; then
	exit 0
fi
if [ ! -e /dev/fuse ]; then
	echo "bench_mount: no /dev/fuse here: mount benchmarks skipped"
	exit 0
fi
tmp=$(mktemp -d -p "${PKFS_BENCH_DIR:-${TMPDIR:-/tmp}}" pkfs-bench-mount.XXXXXX)
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
go build -o "$tmp/benchmount" ./internal/benchmount

gc=$(command -v gocryptfs || true)
note=""
if [ -z "$gc" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	echo "bench_mount: installing gocryptfs with apt-get"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gocryptfs >/dev/null 2>&1 || true
	gc=$(command -v gocryptfs || true)
fi
if [ -z "$gc" ]; then
	note="not installed (apt-get install gocryptfs needs root and Debian): its column is skipped"
else
	note="$("$gc" -version 2>/dev/null | head -n1 | cut -d';' -f1), default options, -scryptn 10"
fi

args=(-pkfs "$tmp/pkfs" -gocryptfs "$gc" -gocryptfs-note "$note" -runs "${BENCH_MOUNT_RUNS:-5}" -work "$tmp/work")
if [ -n "${BENCH_MOUNT_CPUPROFILE:-}" ]; then
	args+=(-cpuprofile "$BENCH_MOUNT_CPUPROFILE")
fi
# shellcheck disable=SC2086 # BENCH_MOUNT_ARGS is a list of flags
"$tmp/benchmount" "${args[@]}" ${BENCH_MOUNT_ARGS:-}
