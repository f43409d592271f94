#!/usr/bin/env bash
# The reachability benchmarks of make bench (issue 11), in network
# namespaces with NAT routers made by iptables (internal/netlab), driven
# through the built pkfs (internal/benchreach):
#   - time to the first connection through a punch (target p50 <= 1 s);
#   - clone of a 20 MiB vault punched and relayed (target: relay >= 50 %);
#   - bytes on the wire of a one-file commit, direct and relayed (the same).
# The lookup figure (100 nodes, rounds <= ceil(log2 N) + 2) is a Go
# benchmark of p2p (BenchmarkLookup) in the table above.
#
#   BENCH_REACH=0             skip them
#   BENCH_REACH_ARGS="..."    more flags for benchreach (-punch-runs N,
#                             -vault-mib N, -clone-runs N, -byte-runs N,
#                             -relay-rate MIB)
#   PKFS_BENCH_DIR=DIR        run on DIR's disk (default: TMPDIR)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${BENCH_REACH:-1}" = 0 ]; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "bench_reach: not root: network namespaces need root; reachability benchmarks skipped"
	exit 0
fi
tmp=$(mktemp -d -p "${PKFS_BENCH_DIR:-${TMPDIR:-/tmp}}" pkfs-bench-reach.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

go build -o "$tmp/pkfs" ./cmd/pkfs
go build -o "$tmp/benchreach" ./internal/benchreach
echo
# shellcheck disable=SC2086 # BENCH_REACH_ARGS is a list of flags
"$tmp/benchreach" -pkfs "$tmp/pkfs" -work "$tmp/work" ${BENCH_REACH_ARGS:-}
