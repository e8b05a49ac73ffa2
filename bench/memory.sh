#!/usr/bin/env bash
# bench/memory.sh: the smallest linux.resources.memory.limit under which a busybox `true`
# container starts and exits 0, found by bisection, for nook-runtime, runc and crun. Needs root.
# See bench/README.md.
#
#   sudo bench/memory.sh
#   sudo REPEAT=3 HIGH_MIB=32 bench/memory.sh
#
# Environment:
#   REPEAT        a limit counts as "starts" only if this many runs in a row at it exit 0 (2)
#   CONFIRM       runs at the result and one page below it, reported as pass counts (5)
#   HIGH_MIB      upper end of the search, must start (64)
#   STEP_KIB      after the bisection, walk up in these steps to where all CONFIRM runs start (16)
#   NOOK_RUNTIME  nook-runtime binary (default <repo>/bin/nook-runtime, `make build` if missing)
#
# Venue. The fair one is venue 2 of ../shared/ENVIRONMENT.md: a private mount namespace with a
# plain cgroup2 mount at /sys/fs/cgroup, memory enabled in our own subtree. That needs the
# memory controller on the cgroup2 hierarchy. On a hybrid host it is not there (it is bound to
# the v1 hierarchy, and a controller lives in one hierarchy only), so the script says so and
# uses venue 1 instead, the host's v1 memory controller:
#   hybrid   the host as it is: nook-runtime and runc (crun refuses hybrid hosts)
#   v1ns     a private mount namespace without the cgroup2 mount at /sys/fs/cgroup/unified, so
#            that crun sees a plain v1 host: nook-runtime, runc and crun, the same v1 memory
#            controller
#   cgroup2ns  (where memory is on the cgroup2 hierarchy, e.g. a pure v2 host or the VM lane)
#            venue 2: all three runtimes, crun with its cgroupfs manager
# Every container gets cgroupsPath /nookbench-mem-PID/<id>, so nothing lands in anyone else's
# cgroups; the parent is removed at the end in every hierarchy. Limits are whole pages; swap
# is not limited (memory.swap unset).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SELF="$HERE/$(basename "${BASH_SOURCE[0]}")"
REPO=$(dirname "$HERE")
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

PAGE=4096

# trial NAME CMD LIMIT N: N runs at LIMIT bytes; prints how many exited 0. Runs in the phase's
# mount namespace. Needs WORK, PARENT, SETTING.
trial() {
	local name=$1 cmd=$2 limit=$3 n=$4 ok=0 i id rc cg pid
	for ((i = 1; i <= n; i++)); do
		id="$PARENT-$SETTING-$name-${EPOCHREALTIME/./}"
		python3 - "$WORK/bundle/config.json" "$WORK/b-$name/config.json" "$limit" "/$PARENT/$id" "$WORK/bundle/rootfs" <<-'EOF'
			import json, sys
			c = json.load(open(sys.argv[1]))
			c["root"]["path"] = sys.argv[5]
			c["linux"].setdefault("resources", {})["memory"] = {"limit": int(sys.argv[3])}
			c["linux"]["cgroupsPath"] = sys.argv[4]
			json.dump(c, open(sys.argv[2], "w"))
		EOF
		rc=0
		# shellcheck disable=SC2086 # a command line: binary plus flags
		timeout -k 2 20 $cmd --root "$WORK/state-$SETTING-$name" run -b "$WORK/b-$name" "$id" \
			</dev/null >"$WORK/last.out" 2>&1 || rc=$?
		[ "$rc" = 0 ] && ok=$((ok + 1))
		[ "$rc" = 0 ] || cp "$WORK/last.out" "$WORK/fail-$name.out"
		# shellcheck disable=SC2086
		[ ! -e "$WORK/state-$SETTING-$name/$id" ] || $cmd --root "$WORK/state-$SETTING-$name" delete -f "$id" >/dev/null 2>&1 || true
		for cg in $(find /sys/fs/cgroup -mindepth 2 -maxdepth 3 -type d -path "*/$PARENT/$id" 2>/dev/null); do
			for pid in $(cat "$cg/cgroup.procs" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
			rmdir "$cg" 2>/dev/null || { sleep 0.2; rmdir "$cg" 2>/dev/null; } || true
		done
	done
	echo "$ok"
}

# phase SETTING NAME=CMD...: bisect every runtime in this mount namespace.
phase() {
	SETTING=$1
	shift
	local spec name cmd lo hi mid ok okc below rel relok
	echo
	echo "=== setting: $SETTING ==="
	if [ "$SETTING" = cgroup2ns ]; then
		mkdir -p "/sys/fs/cgroup/$PARENT"
		echo +memory >"/sys/fs/cgroup/$PARENT/cgroup.subtree_control"
	fi
	for spec in "$@"; do
		name=${spec%%=*}
		cmd=${spec#*=}
		mkdir -p "$WORK/b-$name" "$WORK/state-$SETTING-$name"
		hi=$((HIGH_MIB * 1024 * 1024))
		ok=$(trial "$name" "$cmd" "$hi" 1)
		if [ "$ok" != 1 ]; then
			echo "  $name: does not start even at $HIGH_MIB MiB, skipped:"
			sed 's/^/      /' "$WORK/fail-$name.out"
			printf '%s\t%s\tskipped\t%s\n' "$SETTING" "$name" "$(tr '\n' ' ' <"$WORK/fail-$name.out")" >>"$WORK/results"
			continue
		fi
		lo=0 # in pages: lo fails (0 is taken to fail), hi starts
		hi=$((hi / PAGE))
		while [ $((hi - lo)) -gt 1 ]; do
			mid=$(((lo + hi) / 2))
			ok=$(trial "$name" "$cmd" $((mid * PAGE)) "$REPEAT")
			if [ "$ok" = "$REPEAT" ]; then hi=$mid; else lo=$mid; fi
			printf '    %-5s %8d KiB: %d/%d started\n' "$name" $((mid * PAGE / 1024)) "$ok" "$REPEAT"
		done
		okc=$(trial "$name" "$cmd" $((hi * PAGE)) "$CONFIRM")
		below=0
		[ "$lo" -le 0 ] || below=$(trial "$name" "$cmd" $((lo * PAGE)) "$CONFIRM")
		echo "  $name: bisection: $((hi * PAGE / 1024)) KiB ($okc/$CONFIRM at it, $below/$CONFIRM at $((lo * PAGE / 1024)) KiB)"
		if [ -s "$WORK/fail-$name.out" ]; then
			echo "    a failure below it said: $(tail -n 2 "$WORK/fail-$name.out" | tr '\n' ' ' | cut -c1-300)"
		fi
		# Near the limit whether a run fits is a matter of chance (what the kernel charges
		# varies a little from run to run): walk up in STEP_KIB steps to the first limit at
		# which all CONFIRM runs start.
		rel=$hi relok=$okc
		while [ "$relok" != "$CONFIRM" ] && [ "$rel" -lt $((HIGH_MIB * 256)) ]; do
			rel=$((rel + STEP_KIB / 4))
			relok=$(trial "$name" "$cmd" $((rel * PAGE)) "$CONFIRM")
			printf '    %-5s %8d KiB: %d/%d started\n' "$name" $((rel * PAGE / 1024)) "$relok" "$CONFIRM"
		done
		echo "  $name: every run of $CONFIRM starts from $((rel * PAGE / 1024)) KiB"
		printf '%s\t%s\t%s\t%s/%s\t%s\t%s/%s\t%s\n' "$SETTING" "$name" $((hi * PAGE / 1024)) "$okc" "$CONFIRM" \
			$((lo * PAGE / 1024)) "$below" "$CONFIRM" $((rel * PAGE / 1024)) >>"$WORK/results"
	done
	if [ "$SETTING" = cgroup2ns ]; then
		rmdir "/sys/fs/cgroup/$PARENT" 2>/dev/null || true
	fi
}

if [ "${1:-}" = __phase ]; then
	shift
	phase "$@"
	exit 0
fi

# ---------------------------------------------------------------------------------------------
bench_need_root memory.sh
bench_apt runc:runc crun:crun /bin/busybox:busybox-static python3:python3 unshare:util-linux timeout:coreutils

export REPEAT=${REPEAT:-2} CONFIRM=${CONFIRM:-5} HIGH_MIB=${HIGH_MIB:-64} STEP_KIB=${STEP_KIB:-16}
NOOK_SRC=${NOOK_RUNTIME:-$REPO/bin/nook-runtime}
if [ ! -x "$NOOK_SRC" ]; then
	echo "building $NOOK_SRC (make build)"
	make -C "$REPO" build
fi

export PARENT=nookbench-mem-$$ WORK
WORK=$(mktemp -d /tmp/nook-memory.XXXXXX)
: >"$WORK/results"

our_cgroups() { find /sys/fs/cgroup -mindepth 1 -maxdepth 2 -type d -name "$PARENT" 2>/dev/null; }

cleanup() {
	local rc=$? cg pid left
	trap - EXIT INT TERM
	set +e
	for cg in $(our_cgroups); do
		for pid in $(find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
	done
	sleep 0.2
	for cg in $(our_cgroups); do find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null; done
	left=$(our_cgroups | wc -l)
	bench_unmount_under "$WORK" || { echo "cleanup: WARNING: mounts left under $WORK"; rc=1; }
	[ "$rc" != 0 ] || rm -rf "$WORK"
	echo
	echo "cleanup: removed $WORK; cgroups named $PARENT left: $left"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$WORK/bin"
cp "$NOOK_SRC" "$WORK/bin/nook-runtime"
NOOK="$WORK/bin/nook-runtime"
bench_busybox_bundle "$WORK/bundle" "$NOOK"

echo "nook-runtime: $("$NOOK" --version 2>&1 | head -1) ($NOOK_SRC)"
echo "runc:         $(runc --version | head -1)"
echo "crun:         $(crun --version | head -1)"
echo "host:         $(bench_host)"
echo "search:       limits in 4 KiB pages between 0 and $HIGH_MIB MiB; a limit passes if $REPEAT runs in a row"
echo "              exit 0; $CONFIRM confirmation runs at the result and one page below"

# Venue 2 where the cgroup2 hierarchy has the memory controller; venue 1 (v1) where not.
V2_MEM=$(unshare -m --propagation private sh -c \
	'mount -t cgroup2 none /sys/fs/cgroup && grep -qw memory /sys/fs/cgroup/cgroup.subtree_control && echo yes || echo no')
LAYOUT=$(bench_cgroup_layout)
if [ "$V2_MEM" = yes ]; then
	echo "venue:        2, a private cgroup2 mount at /sys/fs/cgroup (memory enabled in /$PARENT)"
	SETTINGS="cgroup2ns"
	unshare -m --propagation private sh -c 'mount -t cgroup2 none /sys/fs/cgroup && exec "$@"' sh \
		bash "$SELF" __phase cgroup2ns "nook=$NOOK" "runc=runc" "crun=crun --cgroup-manager=cgroupfs"
else
	echo "venue:        1, the host's cgroup v1 memory controller. Venue 2 (a private cgroup2 mount) has no"
	echo "              memory controller here: the cgroup2 hierarchy's controllers are" \
		"'$(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null)' (memory is bound to v1)."
	if [ "$LAYOUT" = hybrid ]; then
		SETTINGS="hybrid v1ns"
		bash "$SELF" __phase hybrid "nook=$NOOK" "runc=runc"
		unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified && exec "$@"' sh \
			bash "$SELF" __phase v1ns "nook=$NOOK" "runc=runc" "crun=crun"
	else
		SETTINGS="v1"
		bash "$SELF" __phase v1 "nook=$NOOK" "runc=runc" "crun=crun"
	fi
fi

echo
echo "results: smallest linux.resources.memory.limit under which 'true' starts and exits 0"
python3 - "$WORK/results" "$SETTINGS" <<'EOF'
import sys
labels = {
    "cgroup2ns": "venue 2: private cgroup2 mount, memory in our subtree",
    "hybrid": "venue 1: host's hybrid hierarchy, v1 memory controller",
    "v1ns": "venue 1: private mount ns without the cgroup2 mount (plain v1), v1 memory controller",
    "v1": "venue 1: host's cgroup v1 memory controller",
}
rows = {}
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    rows.setdefault(f[0], []).append(f[1:])
for s in sys.argv[2].split():
    print(f"{s}: {labels[s]}")
    print(f"  {'runtime':<8} {'bisection':>10} {'passes at it':>13} {'one page below':>22} {f'all pass from':>14}  nook/peer (of both)")
    nook = next(((int(r[1]), int(r[5])) for r in rows.get(s, []) if r[0] == "nook" and r[1] != "skipped"), None)
    for r in rows.get(s, []):
        if r[1] == "skipped":
            print(f"  {r[0]:<8} skipped: {r[2][:200]}")
            continue
        kib, rel = int(r[1]), int(r[5])
        ratio = "" if r[0] == "nook" or not nook else f"{nook[0] / kib:.2f}, {nook[1] / rel:.2f}"
        print(f"  {r[0]:<8} {kib:>6} KiB {r[2]:>13} {r[4] + ' at ' + r[3] + ' KiB':>22} {rel:>10} KiB  {ratio}")
    print()
EOF
