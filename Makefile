# The two commands of the README. Both install what is missing first
# (scripts/setup.sh holds every provisioning step).
.PHONY: run test deps bench fuzz vulncheck

# Every Fuzz target for FUZZTIME each (make fuzz FUZZTIME=10m for longer).
FUZZTIME ?= 1m

run:
	./scripts/setup.sh run

test:
	./scripts/setup.sh test

deps:
	./scripts/setup.sh deps

bench:
	go test -run '^$$' -bench . -benchtime 3x ./...

fuzz:
	FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh

# govulncheck against the offline vulnerability database (also part of make test).
vulncheck:
	GOTOOLCHAIN=go1.26.10 ./scripts/vulncheck.sh
