#!/bin/bash
# vm-tests.sh REPO [LIST] — runs inside the cgroup v2 VM (see `make test-v2`): every compiled test
# binary listed in LIST (default REPO/bin/vmtests.list; "binary package-dir [run-regexp]" lines,
# paths relative to REPO), each from its package directory as `go test` would, with NOOK_RUNTIME
# and NOOK_PROBE set. Exits 1 if any fails.
# Env: VM_TEST_TIMEOUT (per binary, default 20m; the VM is ~10x slower than the host).
set -uo pipefail
repo=${1:-$PWD}
list=${2:-$repo/bin/vmtests.list}
cd "$repo" || exit 1
export NOOK=$repo/bin/nook NOOK_RUNTIME=$repo/bin/nook-runtime NOOK_PROBE=$repo/bin/probe NOOK_ESCAPE=$repo/bin/escape TMPDIR=/tmp
[ -s "$list" ] || { echo "vm-tests: no $list; run make test-v2" >&2; exit 1; }
# Podman (test/interop) keeps a bolt database of blob digests at this fixed path, whatever its
# --root. The VM sees the host's copy through 9p while podman on the host may be writing it, and
# copies it up torn ("panic: invalid page type" in podman import): give the VM (only) an empty one.
[ -d /.vmlane ] && mkdir -p /var/lib/containers/cache && mount -t tmpfs -o mode=700 vm-podman-cache /var/lib/containers/cache
echo "vm-tests: kernel $(uname -r), cgroup2 controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
failed=()
while read -r bin dir run; do
	echo "=== $bin ($dir)${run:+ -test.run $run}"
	t0=$(date +%s)
	if (cd "$repo/$dir" && "$repo/$bin" -test.v -test.count=1 -test.timeout="${VM_TEST_TIMEOUT:-20m}" ${run:+-test.run "$run"}) </dev/null; then
		echo "--- ok   $bin ($(($(date +%s) - t0)) s)"
	else
		echo "--- FAIL $bin ($(($(date +%s) - t0)) s)"
		failed+=("$bin")
	fi
done <"$list"
if [ ${#failed[@]} -gt 0 ]; then
	echo "vm-tests: FAILED: ${failed[*]}"
	exit 1
fi
echo "vm-tests: all passed"
