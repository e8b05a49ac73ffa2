#!/usr/bin/env bash
# test-v2.sh [LIST...] — runs the compiled tests listed in each LIST (default: the two lists
# `make test-v2` writes, bin/vmtests-1.list and bin/vmtests-2.list),
# one VM boot per list (hack/vm-tests.sh inside test/vmlane/run-in-vm.sh; pure cgroup v2 unless
# the VMLANE_* variables say otherwise; VMLANE_CGROUPS="v2 hybrid" boots one VM per list and mode).
# Called by `make test-v2` and `make test-systemd`.
#
# With several lists the VMs run at the same time: one TCG VM keeps about one host core busy,
# most tests being a single process at a time. Each VM's output is held in a file and printed
# whole when it ends, so that the logs do not interleave. Exits 1 if any VM fails.
#
# The VM sees the host's filesystem read-only (9p with cache=loose), except /tmp: it has a /tmp of
# its own, and only the share dir (/tmp/vmlane, 9p without a cache) is the host's. A checkout
# under /tmp (CI clones there) is invisible in the VM, so its bin/ and package dirs are staged in
# /var/tmp first: through the share, every exec of the 17 MB nook binary re-read it over 9p, and
# the tests ran about 5 times slower.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
[ $# -gt 0 ] || set -- bin/vmtests-1.list bin/vmtests-2.list
tmp=$(mktemp -d /var/tmp/nook-test-v2.XXXXXX)
chmod 755 "$tmp" # the rootless tests run the runtime as an unprivileged user
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
case "$repo/" in
/tmp/*)
	cp -a bin "$tmp/bin"
	for list in "$@"; do
		while read -r _ dir _; do mkdir -p "$tmp/$dir"; done <"$list"
	done
	repo=$tmp
	echo "test-v2: $PWD is not visible in the VM; staged the test binaries in $tmp" >&2
	;;
esac
# boot CGROUP LIST: one VM. A guest that never reports an exit code (run-in-vm's 125: the whole VM
# wedged, beyond what vm-tests.sh's watchdog can report from inside) is booted once more, loudly;
# a test that fails is not retried.
boot() {
	local rc=0
	VMLANE_CGROUP=$1 test/vmlane/run-in-vm.sh hack/vm-tests.sh "$repo" "$repo/$2" || rc=$?
	if [ "$rc" -eq 125 ]; then
		echo "test-v2: WARNING: the VM for $2 (cgroup $1) did not finish (console above); booting it once more" >&2
		rc=0
		VMLANE_CGROUP=$1 test/vmlane/run-in-vm.sh hack/vm-tests.sh "$repo" "$repo/$2" || rc=$?
	fi
	return "$rc"
}
read -ra modes <<<"${VMLANE_CGROUPS:-${VMLANE_CGROUP:-v2}}"
if [ $# -eq 1 ] && [ ${#modes[@]} -eq 1 ]; then
	boot "${modes[0]}" "$1"
	exit
fi
t0=$(date +%s)
declare -A names
for list in "$@"; do
	for cg in "${modes[@]}"; do
		boot "$cg" "$list" >"$tmp/${#pids[@]}.log" 2>&1 &
		names[$!]="$list (cgroup $cg)"
		pids+=("$!")
	done
done
echo "test-v2: ${#pids[@]} VMs at once; each one's log follows when it ends"
rc=0
running=("${pids[@]}")
while [ ${#running[@]} -gt 0 ]; do
	set +e
	wait -n -p done "${running[@]}"
	r=$?
	set -e
	for i in "${!pids[@]}"; do [ "${pids[$i]}" = "$done" ] && n=$i; done
	echo "=== test-v2: VM for ${names[$done]} ended after $(($(date +%s) - t0)) s, rc $r"
	cat "$tmp/$n.log"
	[ "$r" -eq 0 ] || rc=1
	left=()
	for p in "${running[@]}"; do [ "$p" = "$done" ] || left+=("$p"); done
	running=("${left[@]}")
done
pids=()
exit "$rc"
