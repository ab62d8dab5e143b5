#!/usr/bin/env bash
# Runs every Fuzz target of the module, one after another, for FUZZTIME
# each (default 1m; any `go test -fuzztime` value: 10m, 2h, 100000x).
# New crashers land in the package's testdata/fuzz/<Target>/: commit them
# as regression seeds once fixed. `go test` runs the committed seeds.
#
#   make fuzz                 1 minute per target
#   make fuzz FUZZTIME=10m    the nightly length
#   FUZZ=FuzzBundle make fuzz only the targets matching a regexp
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
FUZZTIME="${FUZZTIME:-1m}"
FUZZ="${FUZZ:-.}"
failed=()
n=0
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	grep -lq '^func Fuzz' "$dir"/*_test.go 2>/dev/null || continue
	for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' | grep -E -- "$FUZZ" || true); do
		n=$((n + 1))
		printf '\033[1m==> %s %s (%s)\033[0m\n' "$pkg" "$target" "$FUZZTIME" >&2
		if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg"; then
			failed+=("$pkg $target")
		fi
	done
done
if [ "$n" -eq 0 ]; then
	echo "fuzz: no target matches $FUZZ" >&2
	exit 1
fi
if [ ${#failed[@]} -gt 0 ]; then
	printf 'fuzz: %d of %d targets failed:\n' "${#failed[@]}" "$n" >&2
	printf '  %s\n' "${failed[@]}" >&2
	exit 1
fi
echo "fuzz: $n targets ran $FUZZTIME each without a failure"
