# The two commands of the README. Both install what is missing first
# (scripts/setup.sh holds every provisioning step).
.PHONY: run test deps bench fuzz vulncheck load

# Every Fuzz target for FUZZTIME each (make fuzz FUZZTIME=10m for longer).
FUZZTIME ?= 1m

run:
	./scripts/setup.sh run

test:
	./scripts/setup.sh test

deps:
	./scripts/setup.sh deps

# The load test (a benchmark, not part of make test): idv serve on a fresh
# PostgreSQL schema with demo data, driven by cmd/idvload at a fixed rate;
# prints a markdown table for docs/performance.md. make load LOAD_FLAGS="-rate 60 -duration 1m"
load:
	LOAD_FLAGS="$(LOAD_FLAGS)" ./scripts/setup.sh load

bench:
	go test -run '^$$' -bench . -benchtime 3x ./...

fuzz:
	FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh

# govulncheck against the offline vulnerability database (also part of make test).
vulncheck:
	GOTOOLCHAIN=go1.26.10 ./scripts/vulncheck.sh
