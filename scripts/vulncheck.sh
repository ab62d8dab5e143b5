#!/usr/bin/env bash
# Known-vulnerable dependencies fail the build: govulncheck over the whole
# module against an offline copy of the Go vulnerability database.
#
# The public database's host is not reachable from the build machines, so the
# copy is built from the golang.org/x/vulndb module (its data/osv folder), which
# the Go module proxy serves, with that module's own indexdb command. Both
# tools and the database are pinned below and cached under var/ by version.
#
# First the scan must find the vulnerability planted in
# scripts/testdata/vulncanary (an empty or broken database would otherwise
# pass every scan); then remoteidv itself must have no vulnerable symbol that
# its code can reach (govulncheck exits 3 when it finds one).
#
# Refresh: set VULNDB_VERSION to what
#   go list -m -json golang.org/x/vulndb@latest
# prints as Version (run outside the module), and run `make vulncheck`.
set -euo pipefail
cd "$(dirname "$0")/.."

VULN_VERSION=v1.9.0
VULNDB_VERSION=v0.0.0-20261105234957-e22db6528018

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

tools="$PWD/var/tools"
db="$PWD/var/vulndb/$VULNDB_VERSION"
mkdir -p "$tools"

install_tool() { # name package version
	local bin="$tools/$1"
	if [ -x "$bin" ] && [ "$(cat "$bin.version" 2>/dev/null)" = "$3 $(go env GOVERSION)" ]; then return 0; fi
	log "installing $1 $3"
	(cd "$(mktemp -d)" && GOBIN="$tools" GOFLAGS=-mod=mod go install "$2@$3")
	echo "$3 $(go env GOVERSION)" > "$bin.version"
}

install_tool govulncheck golang.org/x/vuln/cmd/govulncheck "$VULN_VERSION"

if [ ! -f "$db/index/db.json" ]; then
	install_tool indexdb golang.org/x/vulndb/cmd/indexdb "$VULNDB_VERSION"
	log "building the vulnerability database $VULNDB_VERSION"
	src=$(cd "$(mktemp -d)" && GOFLAGS=-mod=mod go mod download -json "golang.org/x/vulndb@$VULNDB_VERSION" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	if [ -z "$src" ] || [ ! -d "$src/data/osv" ]; then
		echo "vulncheck: golang.org/x/vulndb@$VULNDB_VERSION has no data/osv folder" >&2; exit 1
	fi
	rm -rf "$db.tmp" && mkdir -p "$(dirname "$db")"
	"$tools/indexdb" -vulns "$src/data/osv" -out "$db.tmp"
	mv "$db.tmp" "$db"
fi

log "govulncheck: the planted vulnerability must be found"
set +e
canary=$(cd scripts/testdata/vulncanary && GOFLAGS=-mod=mod "$tools/govulncheck" -db "file://$db" ./... 2>&1)
rc=$?
set -e
if [ "$rc" -ne 3 ] || ! grep -q 'GO-2021-0113' <<<"$canary"; then
	echo "vulncheck: the offline database did not report GO-2021-0113 in scripts/testdata/vulncanary (exit $rc):" >&2
	echo "$canary" >&2
	exit 1
fi

log "govulncheck $VULN_VERSION, database $VULNDB_VERSION, $(go env GOVERSION)"
"$tools/govulncheck" -db "file://$db" ./...
