#!/usr/bin/env bash
# failsummary.sh LOG: the lines of a `go test` log that say what failed,
# short enough to read at the end of a long output: each failed test with
# the lines it printed, each crash (panic, fatal error, test timeout) with
# the running tests and the first goroutine, and each data race report.
set -euo pipefail
awk '
	/^(panic:|fatal error:)/ { crash = 1; n = 0 }
	crash { print; n++; if (n > 60 || (n > 3 && /^$/ && seen_goroutine)) { crash = 0; seen_goroutine = 0 }; if (/^goroutine [0-9]+ /) seen_goroutine = 1; next }
	/^WARNING: DATA RACE/ { race = 1; n = 0 }
	race { print; n++; if (n > 50 || /^==================$/) race = 0; next }
	/^[ \t]*--- FAIL/ { fail = 1; print; next }
	fail && /^[ \t]+/ && !/^[ \t]*--- (PASS|SKIP)/ { print; next }
	{ fail = 0 }
	/^(FAIL|ok )[ \t]/ && /^FAIL/ { print }
' "$1" | head -400
