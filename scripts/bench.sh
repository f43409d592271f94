#!/usr/bin/env bash
# make bench: run every benchmark of the module in one go and print them as a
# table, pkfs side by side with its baselines.
#
#   BENCHTIME=3s        time (or NNx iterations) per benchmark (go test -benchtime)
#   BENCH=.             which benchmarks (go test -bench)
#   PKFS_BENCH_DIR=DIR  put benchmark databases on DIR's disk (default: TMPDIR)
#   PKFS_BENCH_ARGON2_ALL=1  also the sensitive (1 GiB) and max (4 GiB) presets
set -euo pipefail
cd "$(dirname "$0")/.."

benchtime=${BENCHTIME:-3s}
pattern=${BENCH:-.}
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# The packages that have benchmarks.
mapfile -t pkgs < <(grep -rl --include='*_test.go' '^func Benchmark' . | xargs -n1 dirname | sort -u)
if [ "${#pkgs[@]}" -eq 0 ]; then
	echo "bench: no benchmarks found" >&2
	exit 1
fi

echo "bench: ${pkgs[*]} (-benchtime $benchtime)"
go test -run '^$' -bench "$pattern" -benchmem -benchtime "$benchtime" -count 1 "${pkgs[@]}" | tee "$out"

echo
awk '
/^pkg: / { pkg = $2; sub(/.*\/pkfs\//, "", pkg) }
/^Benchmark/ {
	name = $1; sub(/^Benchmark/, "", name); sub(/-[0-9]+$/, "", name)
	ns[pkg " " name] = $3
	for (i = 5; i < NF; i += 2) if ($(i + 1) == "cpu-ns/op") cpu[pkg " " name] = $i
	ms = $3 / 1e6
	extra = ""
	for (i = 5; i < NF; i += 2) {
		unit = $(i + 1)
		if (unit == "B/op") { extra = extra sprintf("  %8.1f MiB/op", $i / 1048576); continue }
		if (unit == "allocs/op") { extra = extra sprintf("  %8d allocs/op", $i); continue }
		extra = extra sprintf("  %s=%s", unit, $i)
		if (unit == "x-vs-raw") { ratios[++n] = sprintf("%-22s %-26s %6.2fx  %s", pkg, name, $i, ($i < 1.3 ? "ok" : "over 1.3x")) }
	}
	t = (ms < 1) ? sprintf("%10.2f µs/op", ms * 1000) : sprintf("%10.2f ms/op", ms)
	rows[++m] = sprintf("%-22s %-28s %s%s", pkg, name, t, extra)
}
# ratio prints num/den of two benchmarks of one package (wall time, and CPU
# time where both report it), with the target it is held to.
function ratio(label, p, num, den, target,    a, b, line) {
	a = p " " num; b = p " " den
	if (!(a in ns) || !(b in ns) || ns[b] == 0) return
	line = sprintf("%-58s %7.2fx wall", label, ns[a] / ns[b])
	if ((a in cpu) && (b in cpu) && cpu[b] > 0) line = line sprintf("  %7.2fx cpu", cpu[a] / cpu[b])
	else line = line sprintf("  %12s", "")
	if (target != "") line = line "  (target " target ")"
	ratios2[++r] = line
}
END {
	ratio("one-file commit, 10,000 files / 10 files", "vaultstore", "Commit/files=10000", "Commit/files=10", "<= 2x")
	ratio("one-file commit, 1,000 files / 10 files", "vaultstore", "Commit/files=1000", "Commit/files=10", "")
	ratio("one-file commit synced / not synced (1,000 files)", "vaultstore", "CommitSync/files=1000", "Commit/files=1000", "")
	ratio("read at HEAD, cold store / warm", "vaultstore", "ReadHead/cold-store", "ReadHead/warm", "")
	ratio("read at HEAD, cold database / warm", "vaultstore", "ReadHead/cold-db", "ReadHead/warm", "")
	ratio("merge of two 100-commit branches, 10,000 files: pkfs / git merge", "vaultstore", "Merge/pkfs", "Merge/git-merge", "<= 2x")
	ratio("the same, pkfs (store cold) / git merge-tree", "vaultstore", "Merge/pkfs-cold-store", "Merge/git-merge-tree", "")
	ratio("CLI: 200 secrets write vs git add+commit, both on tmpfs", "integration", "CLI/pkfs-write-200x4KiB/tmpfs", "CLI/git-write-200x4KiB/tmpfs", "reference")
	ratio("CLI: 200 secrets write on disk vs git add+commit on tmpfs", "integration", "CLI/pkfs-write-200x4KiB/disk", "CLI/git-write-200x4KiB/tmpfs", "reference")
	ratio("20 MiB through a relay / directly (loopback, one process)", "p2p", "RelayThroughput/relayed", "RelayThroughput/direct", "<= 2x")
	print "== all benchmarks =="
	for (i = 1; i <= m; i++) print rows[i]
	if (n > 0) {
		print ""
		print "== sealed store vs raw goleveldb (same options, same disk, same run; expected < 1.3x) =="
		for (i = 1; i <= n; i++) print ratios[i]
	}
	if (r > 0) {
		print ""
		print "== vaults: side by side in this run =="
		for (i = 1; i <= r; i++) print ratios2[i]
	}
}' "$out"

scripts/bench_mount.sh # issue 4: the mount vs a plain directory vs gocryptfs
scripts/bench_p2p.sh # issue 5: replication latency, bytes of a one-file commit, clone time
scripts/bench_reach.sh # issue 11: punches, relays, bytes on the wire, in network namespaces
