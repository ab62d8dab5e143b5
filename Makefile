# The two commands of the README. Both install what is missing first
# (scripts/setup.sh holds every provisioning step).
.PHONY: run test deps bench

run:
	./scripts/setup.sh run

test:
	./scripts/setup.sh test

deps:
	./scripts/setup.sh deps

bench:
	go test -run '^$$' -bench . -benchtime 3x ./...
