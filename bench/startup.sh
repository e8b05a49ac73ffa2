#!/usr/bin/env bash
# bench/startup.sh: start-up latency of `run` of a busybox `true` container, nook-runtime vs
# runc vs crun, timed with hyperfine. Needs root. See bench/README.md.
#
#   sudo bench/startup.sh                 # 50 timed runs per runtime and setting
#   sudo RUNS=30 WARMUP=5 bench/startup.sh
#
# Environment:
#   RUNS          timed runs per runtime and setting (default 50)
#   WARMUP        warm-up runs (default 5)
#   NOOK_RUNTIME  nook binary to time (default: <repo>/bin/nook-runtime, built with `make build`
#                 if missing). It is copied into the temp dir first, so a concurrent rebuild of
#                 bin/ cannot swap binaries in the middle of a benchmark.
#   RESULTS_DIR   where hyperfine's JSON files go (default: a new /tmp/nook-bench-results.XXXXXX,
#                 kept after the run)
#
# Two settings:
#   cgroup2ns  every runtime inside one private mount namespace with a plain cgroup2 mount at
#              /sys/fs/cgroup (the fair comparison of ../shared/ENVIRONMENT.md); nook, runc, and
#              crun with --cgroup-manager=disabled.
#   hybrid     the host's real hybrid v1 hierarchy, what users of such a host see; nook and runc
#              (crun refuses hybrid hosts).
# Every runtime gets the same bundle. A runtime whose trial run fails is reported and skipped.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SELF="$HERE/$(basename "${BASH_SOURCE[0]}")"
REPO=$(dirname "$HERE")

# ---------------------------------------------------------------------------------------------
# One setting: trial run, then hyperfine, per runtime. Runs in whatever mount namespace the
# caller set up. Needs WORK, PREFIX, RUNS, WARMUP, RESULTS_DIR in the environment.
# Arguments: SETTING NAME=COMMAND... (COMMAND is word-split: a binary plus global flags).
phase() {
	local setting=$1
	shift
	local bundle="$WORK/bundle" spec name cmd root id err rc hf
	echo
	echo "=== setting: $setting ==="
	if [ "$setting" = cgroup2ns ]; then
		echo "/sys/fs/cgroup: $(stat -f -c %T /sys/fs/cgroup)," \
			"root cgroup.subtree_control: '$(cat /sys/fs/cgroup/cgroup.subtree_control)'," \
			"cgroup.controllers: '$(cat /sys/fs/cgroup/cgroup.controllers)'"
	else
		echo "/sys/fs/cgroup: $(stat -f -c %T /sys/fs/cgroup) (v1 controllers + cgroup2 at /sys/fs/cgroup/unified)"
	fi
	for spec in "$@"; do
		name=${spec%%=*}
		cmd=${spec#*=}
		root="$WORK/state/$setting-$name"
		mkdir -p "$root"

		# Trial run: a runtime that cannot start the container here is reported and skipped.
		id="$PREFIX-$setting-$name-trial"
		err="$WORK/trial-$setting-$name.err"
		rc=0
		# shellcheck disable=SC2086
		$cmd --root "$root" run -b "$bundle" "$id" </dev/null >"$err" 2>&1 || rc=$?
		if [ -e "$root/$id" ]; then
			# shellcheck disable=SC2086
			$cmd --root "$root" delete -f "$id" >/dev/null 2>&1 || true
		fi
		if [ "$rc" != 0 ]; then
			echo "SKIP $name ($setting): trial run exited $rc:"
			sed 's/^/    /' "$err"
			echo "$setting $name trial run exited $rc: $(tr '\n' ' ' <"$err")" >>"$WORK/skipped"
			continue
		fi

		# Each timed run gets a fresh id. The untimed --prepare step deletes the previous id
		# (only if its state is still there: `run` removes the container when it exits) and
		# writes the next one; the timed command only reads it (a shell builtin) and execs
		# the runtime. hyperfine subtracts the cost of spawning the shell.
		local idfile="$WORK/id-$setting-$name" ctr="$WORK/ctr-$setting-$name" prep="$WORK/prep-$setting-$name.sh"
		echo 0 >"$ctr"
		echo "$PREFIX-$setting-$name-0" >"$idfile"
		cat >"$prep" <<-EOF
			#!/bin/sh
			read prev <"$idfile"
			[ -e "$root/\$prev" ] && $cmd --root "$root" delete -f "\$prev" >/dev/null 2>&1
			read n <"$ctr"
			n=\$((n + 1))
			echo \$n >"$ctr"
			echo "$PREFIX-$setting-$name-\$n" >"$idfile"
			exit 0
		EOF
		chmod +x "$prep"
		# hyperfine carries on when a run's runtime swallows Ctrl-C (the run still exits 0), so
		# it runs in the background, with the default SIGINT disposition, and a signal to us
		# stops it; the EXIT trap of the main script then cleans up.
		rc=0
		(
			trap - INT QUIT
			exec hyperfine --style basic --warmup "$WARMUP" --runs "$RUNS" \
				--prepare "$prep" \
				--cleanup "$prep" \
				--command-name "$name" \
				--export-json "$RESULTS_DIR/$setting-$name.json" \
				"read id <$idfile; exec $cmd --root $root run -b $bundle \"\$id\" </dev/null"
		) &
		hf=$!
		# shellcheck disable=SC2064
		trap "kill -TERM $hf 2>/dev/null; wait $hf; exit 130" INT TERM
		wait "$hf" || rc=$?
		trap - INT TERM
		if [ "$rc" != 0 ]; then
			echo "SKIP $name ($setting): hyperfine exited $rc (a timed run failed)"
			echo "$setting $name hyperfine exited $rc" >>"$WORK/skipped"
			rm -f "$RESULTS_DIR/$setting-$name.json"
		else
			# The counter went up once per --prepare (before every warm-up and timed run)
			# and once for --cleanup.
			echo "($name: --prepare handed out $(($(cat "$ctr") - 1)) fresh ids for $WARMUP + $RUNS runs)"
		fi
		# Whatever state is left (there should be none) goes now, while this namespace's
		# view of the cgroup paths recorded in it still holds.
		for st in "$root"/*; do
			[ -e "$st" ] || continue
			echo "note: $name left state $(basename "$st"), deleting"
			# shellcheck disable=SC2086
			$cmd --root "$root" delete -f "$(basename "$st")" >/dev/null 2>&1 || true
		done
	done
}

if [ "${1:-}" = __phase ]; then
	shift
	phase "$@"
	exit 0
fi

# ---------------------------------------------------------------------------------------------
if [ "$(id -u)" != 0 ]; then
	echo "startup.sh: needs root (sudo $0)" >&2
	exit 1
fi
missing=
for tool in hyperfine runc crun python3 unshare; do
	command -v "$tool" >/dev/null || missing="$missing $tool"
done
[ -x /bin/busybox ] || missing="$missing busybox-static"
if [ -n "$missing" ]; then
	echo "startup.sh: missing:$missing (apt-get install -y hyperfine runc crun busybox-static python3)" >&2
	exit 1
fi

export RUNS=${RUNS:-50} WARMUP=${WARMUP:-5}
NOOK_SRC=${NOOK_RUNTIME:-$REPO/bin/nook-runtime}
if [ ! -x "$NOOK_SRC" ]; then
	echo "building $NOOK_SRC (make build)"
	make -C "$REPO" build
fi

export PREFIX="nookbench-$$"
export WORK
WORK=$(mktemp -d /tmp/nook-bench.XXXXXX)
CREATED_RESULTS=
if [ -z "${RESULTS_DIR:-}" ]; then
	RESULTS_DIR=$(mktemp -d /tmp/nook-bench-results.XXXXXX)
	CREATED_RESULTS=1
fi
export RESULTS_DIR
mkdir -p "$RESULTS_DIR"

# Our cgroups: anything under /sys/fs/cgroup (v1 hierarchies and the cgroup2 one, which the
# namespace setting mounts again: it is the same hierarchy as /sys/fs/cgroup/unified) named
# after our container ids.
our_cgroups() {
	find /sys/fs/cgroup -mindepth 1 -depth -type d -name "$PREFIX-*" 2>/dev/null || true
}

cleanup() {
	local rc=$? cg pid left
	trap - EXIT INT TERM
	set +e
	left=$(our_cgroups)
	if [ -n "$left" ]; then
		echo "cleanup: the runs left these cgroups, removing them:"
		# shellcheck disable=SC2086 # cgroup paths: no blanks
		printf '    %s\n' $left
		for cg in $left; do
			# Only processes inside our own containers' cgroups.
			{ while read -r pid; do kill -KILL "$pid"; done <"$cg/cgroup.procs"; } 2>/dev/null
		done
		sleep 0.2
		for cg in $left; do rmdir "$cg" 2>/dev/null; done
	fi
	left=$(our_cgroups)
	if [ -n "$left" ]; then
		echo "cleanup: WARNING: could not remove:"
		# shellcheck disable=SC2086 # cgroup paths: no blanks
		printf '    %s\n' $left
	else
		echo "cleanup: no cgroups named $PREFIX-* remain under /sys/fs/cgroup"
	fi
	rm -rf "$WORK"
	# An aborted run leaves no empty results directory behind.
	[ -n "$CREATED_RESULTS" ] && rmdir "$RESULTS_DIR" 2>/dev/null
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Snapshot of the binary under test.
mkdir -p "$WORK/bin"
cp "$NOOK_SRC" "$WORK/bin/nook-runtime"
NOOK="$WORK/bin/nook-runtime"

# The bundle, shared by every runtime: busybox with its applets, config.json from
# `nook-runtime spec` with args ["true"], terminal false, a writable root. ociVersion is set to
# 1.0.2 because crun 1.8 rejects newer versions ("unknown version specified").
bundle="$WORK/bundle"
mkdir -p "$bundle/rootfs/bin"
for d in proc sys dev tmp etc root; do mkdir -p "$bundle/rootfs/$d"; done
cp /bin/busybox "$bundle/rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do
	[ -e "$bundle/rootfs/bin/$applet" ] || ln -s busybox "$bundle/rootfs/bin/$applet"
done
"$NOOK" spec -b "$bundle"
python3 - "$bundle/config.json" <<'EOF'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["ociVersion"] = "1.0.2"
c["process"]["args"] = ["true"]
c["process"]["terminal"] = False
c["root"]["readonly"] = False
json.dump(c, open(p, "w"), indent=1)
EOF

echo "nook-runtime: $("$NOOK" --version 2>&1 | head -1) ($NOOK_SRC)"
echo "runc:         $(runc --version | head -1)"
echo "crun:         $(crun --version | head -1)"
echo "hyperfine:    $(hyperfine --version)"
echo "kernel:       $(uname -r), $(nproc) CPUs"
echo "runs:         $RUNS timed + $WARMUP warm-up per runtime and setting; id prefix $PREFIX"

# Setting 1: private mount namespace with a plain cgroup2 mount at /sys/fs/cgroup.
unshare -m --propagation private sh -c 'mount -t cgroup2 none /sys/fs/cgroup && exec "$@"' sh \
	bash "$SELF" __phase cgroup2ns \
	"nook=$NOOK" \
	"runc=runc" \
	"crun=crun --cgroup-manager=disabled"

# Setting 2: the host's hybrid hierarchy as it is. crun refuses it.
bash "$SELF" __phase hybrid \
	"nook=$NOOK" \
	"runc=runc"

echo
echo "cgroups named $PREFIX-* left after the runs (before cleanup): $(our_cgroups | wc -l)"

# ---------------------------------------------------------------------------------------------
echo
python3 - "$RESULTS_DIR" "$WORK/skipped" <<'EOF'
import json, os, sys
res, skipped = sys.argv[1], sys.argv[2]
labels = {
    "cgroup2ns": "private mount ns, plain cgroup2 at /sys/fs/cgroup (crun: --cgroup-manager=disabled)",
    "hybrid": "host's hybrid cgroup v1 hierarchy (crun refuses it)",
}
for setting in ("cgroup2ns", "hybrid"):
    rows = {}
    for rt in ("nook", "runc", "crun"):
        p = os.path.join(res, f"{setting}-{rt}.json")
        if os.path.exists(p):
            r = json.load(open(p))["results"][0]
            rows[rt] = r
    print(f"{setting}: {labels[setting]}")
    print(f"  {'runtime':<8} {'mean ± stddev':>20} {'median':>9} {'min':>8} {'runs':>5}  ratio")
    base = rows.get("nook")
    for rt, r in rows.items():
        ms = lambda x: x * 1000
        ratio = f"{rt}/nook = {r['mean'] / base['mean']:.2f}x" if base else "(nook failed)"
        if rt == "nook":
            ratio = ""
        print(f"  {rt:<8} {ms(r['mean']):>8.2f} ± {ms(r['stddev']):5.2f} ms {ms(r['median']):>6.2f} ms"
              f" {ms(r['min']):>5.2f} ms {len(r['times']):>5}  {ratio}")
    print()
if os.path.exists(skipped):
    print("skipped:")
    for line in open(skipped):
        print("  " + line.rstrip())
    print()
print(f"hyperfine JSON: {res}")
EOF
