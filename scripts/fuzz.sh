#!/usr/bin/env bash
# make fuzz: run every fuzz target of the module for a while, one after the
# other (make test runs only their seed corpora). A failing input is saved
# by go test under the package's testdata/fuzz/<Target>/: commit it with
# the fix, so that make test replays it for good.
#
#   FUZZTIME=30s      time per target (go test -fuzztime; NNx for runs)
#   FUZZ=.            only targets whose name matches this regexp
#   FUZZPARALLEL=N    fuzzing workers per target (default: GOMAXPROCS)
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime=${FUZZTIME:-30s}
only=${FUZZ:-.}
parallel=()
if [ -n "${FUZZPARALLEL:-}" ]; then
	parallel=(-parallel "$FUZZPARALLEL")
fi

# package directory and target name of every fuzz target
mapfile -t targets < <(grep -r --include='*_test.go' -o '^func Fuzz[A-Za-z0-9_]*' . |
	sed -E 's|^(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)$|\1 \2|' | sort -u | grep -E " .*${only}")
if [ "${#targets[@]}" -eq 0 ]; then
	echo "fuzz: no fuzz target matches $only" >&2
	exit 1
fi
echo "fuzz: ${#targets[@]} targets, $fuzztime each"
failed=()
for t in "${targets[@]}"; do
	read -r dir name <<<"$t"
	echo "== $dir $name"
	if ! go test "$dir" -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "${parallel[@]}"; then
		failed+=("$dir $name")
	fi
done
if [ "${#failed[@]}" -gt 0 ]; then
	echo "fuzz: failed: ${failed[*]} (inputs under their testdata/fuzz/)" >&2
	exit 1
fi
echo "fuzz: every target passed"
