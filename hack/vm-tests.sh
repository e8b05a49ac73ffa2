#!/bin/bash
# vm-tests.sh REPO [LIST] — runs inside the cgroup v2 VM (see `make test-v2`): every compiled test
# binary listed in LIST (default REPO/bin/vmtests-1.list; "binary package-dir [run-regexp]" lines,
# paths relative to REPO), each from its package directory as `go test` would, with NOOK_RUNTIME
# and NOOK_PROBE set. Exits 1 if any fails.
# Env: VM_TEST_TIMEOUT (per binary, Go duration in m or s, default 20m; the VM is ~10x slower
# than the host).
set -uo pipefail
repo=${1:-$PWD}
list=${2:-$repo/bin/vmtests-1.list}
cd "$repo" || exit 1
export NOOK=$repo/bin/nook NOOK_RUNTIME=$repo/bin/nook-runtime NOOK_PROBE=$repo/bin/probe NOOK_ESCAPE=$repo/bin/escape TMPDIR=/tmp
[ -s "$list" ] || { echo "vm-tests: no $list; run make test-v2" >&2; exit 1; }
# Podman (test/interop) keeps a bolt database of blob digests at this fixed path, whatever its
# --root. The VM sees the host's copy through 9p while podman on the host may be writing it, and
# copies it up torn ("panic: invalid page type" in podman import): give the VM (only) an empty one.
[ -d /.vmlane ] && mkdir -p /var/lib/containers/cache && mount -t tmpfs -o mode=700 vm-podman-cache /var/lib/containers/cache
echo "vm-tests: kernel $(uname -r), cgroup2 controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
# hung DURATION BIN: if BIN is still running DURATION after its own -test.timeout should have
# stopped it, something keeps the test from running at all (a frozen cgroup, a kernel hang): the
# state goes to stderr and to the kernel console (whose tail the host prints when the VM does not
# finish: the relays of stdout and stderr may be what hangs), every frozen cgroup is thawed so that
# the test can print its own timeout report, and it is killed a minute later.
hung() {
	sleep "$1"
	{
		echo "vm-tests: $2 still running $1 s after it started; processes and cgroups:"
		ps -eo pid,ppid,stat,wchan:32,etimes,args | grep -v ' \[.*\]$'
		for p in $(pgrep -f "$repo/$2"; pgrep -x nook-runtime); do
			echo "--- pid $p: $(tr '\0' ' ' </proc/$p/cmdline)"; cat /proc/$p/cgroup /proc/$p/stack
		done
		grep -rs . /sys/fs/cgroup/freezer --include=freezer.state | grep -v THAWED
		grep -rs 1 /sys/fs/cgroup --include=cgroup.freeze
		[ -d /run/systemd/system ] && timeout 10 systemctl list-jobs --no-pager
	} >/tmp/vm-tests.hung 2>&1
	cat /tmp/vm-tests.hung >/dev/console
	timeout 10 cat /tmp/vm-tests.hung >&2
	grep -rls FROZEN /sys/fs/cgroup/freezer --include=freezer.state | while read -r f; do echo THAWED >"$f"; done
	grep -rls 1 /sys/fs/cgroup --include=cgroup.freeze | while read -r f; do echo 0 >"$f"; done
	sleep 60
	pkill -KILL -f "$repo/$2"
}
timeout=${VM_TEST_TIMEOUT:-20m}
case $timeout in *m) secs=$((${timeout%m} * 60)) ;; *s) secs=${timeout%s} ;; *) secs=$timeout ;; esac
failed=()
while read -r bin dir run; do
	echo "=== $bin ($dir)${run:+ -test.run $run}"
	t0=$(date +%s)
	hung $((secs + 60)) "$bin" &
	watchdog=$!
	if (cd "$repo/$dir" && "$repo/$bin" -test.v -test.count=1 -test.timeout="$timeout" ${run:+-test.run "$run"}) </dev/null; then
		echo "--- ok   $bin ($(($(date +%s) - t0)) s)"
	else
		echo "--- FAIL $bin ($(($(date +%s) - t0)) s)"
		failed+=("$bin")
	fi
	kill "$watchdog" 2>/dev/null # (its sleep is left to run out: the VM powers off first)
	wait "$watchdog" 2>/dev/null
done <"$list"
if [ ${#failed[@]} -gt 0 ]; then
	echo "vm-tests: FAILED: ${failed[*]}"
	exit 1
fi
echo "vm-tests: all passed"
