#!/usr/bin/env bash
# fuzz.sh — runs every Fuzz* test of the module for FUZZTIME (default 5s) each: the parsers of
# untrusted input (config.json, /proc files, mount options, sizes) and the mount-destination
# resolution that keeps mounts inside the rootfs. A crasher is written to the package's
# testdata/fuzz/ by the go tool: commit it, it becomes a regression test. Called by `make fuzz`.
# -fuzzminimizetime 1x: minimizing a slow input (an image archive) can outlast the short run,
# which the go tool then reports as a failure ("context deadline exceeded").
set -euo pipefail
cd "$(dirname "$0")/.."
t=${FUZZTIME:-5s}
grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r file; do
	pkg=./$(dirname "${file#./}")
	for fn in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$file"); do
		echo "fuzz: $pkg $fn ($t)"
		if ! go test -run '^$' -fuzz "^$fn\$" -fuzztime "$t" -fuzzminimizetime 1x "$pkg" >/tmp/nook-fuzz.$$ 2>&1; then
			# The go tool sometimes ends a short run with "context deadline exceeded" when a
			# worker is still busy as time runs out; no input failed then (none was written to
			# testdata/fuzz). Anything else is a real failure.
			if grep -q 'context deadline exceeded' /tmp/nook-fuzz.$$ && ! grep -q 'Failing input written' /tmp/nook-fuzz.$$; then
				echo "fuzz: $fn: the go tool's end-of-run timeout, no failing input (not a failure)"
				continue
			fi
			cat /tmp/nook-fuzz.$$
			rm -f /tmp/nook-fuzz.$$
			exit 1
		fi
		tail -1 /tmp/nook-fuzz.$$
	done
done
rm -f /tmp/nook-fuzz.$$
