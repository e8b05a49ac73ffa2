#!/usr/bin/env bash
# bench/density.sh: start COUNT (100) detached `sleep 1000000` busybox containers with nook,
# Podman (runc) and containerd (ctr, runc shim); report the time of the 1st, 50th and 100th
# start and the memory (PSS) of each engine's per-container processes, per container. Needs
# root. See bench/README.md.
#
#   sudo bench/density.sh                 # 100 containers per engine
#   sudo COUNT=20 bench/density.sh
#
# Environment:
#   COUNT        containers per engine (default 100)
#   ENGINES      which engines, in order (default "nook podman containerd")
#   NOOK         nook binary (default <repo>/bin/nook, `make build` if missing); copied first
#   SETTLE       seconds to wait after the last start before reading memory (default 3)
#
# The starts alternate: start i of every engine, then start i+1 of every engine (the order of
# the engines rotating with i), so the load of the machine and the number of containers running
# on it is the same for every engine's i-th start. Every container runs with no network:
#   nook        nook --root R run -d --network none nook.local/busybox sleep 1000000
#   podman      podman <private store> --runtime runc run -d --network none
#               --cgroup-parent /nookbench-PID-podman nook.local/busybox sleep 1000000
#   containerd  ctr -a <private socket> -n nookbench-PID run -d --runtime io.containerd.runc.v2
#               IMAGE ID sleep 1000000 (ctr's default spec: a new, empty network namespace)
# All three run the same image: `nook save` of nook's built-in busybox, `podman load`ed and
# `ctr images import`ed. Memory is the sum of Pss from /proc/PID/smaps_rollup over the engine's
# per-container processes (nook: every process running this run's nook binary, i.e. the
# nook-monitors (the lean monitor `nook container-monitor` hands over to); Podman: conmon; containerd: containerd-shim-runc-v2), divided by
# COUNT. containerd's daemon is reported apart (it is shared, not per container).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

bench_need_root density.sh
COUNT=${COUNT:-100}
ENGINES=${ENGINES:-nook podman containerd}
SETTLE=${SETTLE:-3}
if [ "$COUNT" -lt 1 ]; then
	echo "density.sh: need COUNT >= 1" >&2
	exit 1
fi
need=(python3:python3 /bin/busybox:busybox-static findmnt:util-linux)
for e in $ENGINES; do
	case $e in
	nook) ;;
	podman) need+=(podman:podman runc:runc conmon:conmon) ;;
	containerd) need+=(containerd:containerd ctr:containerd containerd-shim-runc-v2:containerd runc:runc) ;;
	*)
		echo "density.sh: unknown engine $e (nook, podman, containerd)" >&2
		exit 1
		;;
	esac
done
bench_apt "${need[@]}"

NOOK_SRC=${NOOK:-$REPO/bin/nook}
if [ ! -x "$NOOK_SRC" ]; then
	echo "building $NOOK_SRC (make build)"
	make -C "$REPO" build
fi

TAG=nookbench-$$
WORK=$(mktemp -d /tmp/nook-density.XXXXXX)
NOOK_BIN=$WORK/bin/nook
NOOK_CMD="$NOOK_BIN --root $WORK/nook"
PODMAN_CMD="podman --root $WORK/podman/storage --runroot $WORK/podman/run --tmpdir $WORK/podman/tmp --cgroup-manager cgroupfs --events-backend file --runtime $(command -v runc 2>/dev/null || echo runc)"
PODMAN_DRIVER=
PODMAN_ULIMITS="--ulimit nofile=1024:1024 --ulimit nproc=4096:4096"
CTRD_DIR=$WORK/containerd
CTRD_SOCK=$CTRD_DIR/containerd.sock
CTR_CMD="ctr -a $CTRD_SOCK -n $TAG"
CTRD_PID=
CTR_IMG=
mkdir -p "$WORK/bin" "$WORK/podman/tmp" "$CTRD_DIR"
: >"$WORK/nook-ids"
: >"$WORK/times"

our_cgroups() { # ours: /sys/fs/cgroup/*/nookbench-PID* (Podman's and containerd's parents)
	find /sys/fs/cgroup -mindepth 1 -maxdepth 3 -type d -name "$TAG*" 2>/dev/null | sort -r
}
nook_cgroups() { # nook's /nook/<id> of our containers
	local id
	while read -r id; do
		[ -n "$id" ] && find /sys/fs/cgroup -mindepth 2 -maxdepth 3 -type d -path "*/nook/$id" 2>/dev/null
	done <"$WORK/nook-ids"
}
kill_cgroups() { # kill -KILL every process in the given cgroups (deepest first), then rmdir
	local cg pid
	for cg in "$@"; do
		for pid in $(find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
	done
	[ $# -eq 0 ] || sleep 0.3
	for cg in "$@"; do
		find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
}

cleanup() {
	local rc=$? ids left p
	trap - EXIT INT TERM
	set +e
	echo
	echo "cleanup:"
	if [ -x "$NOOK_BIN" ] && [ -d "$WORK/nook" ]; then
		ids=$($NOOK_CMD ps -aq 2>/dev/null)
		# shellcheck disable=SC2086 # ids: no blanks
		[ -z "$ids" ] || { $NOOK_CMD rm -f $ids >/dev/null 2>&1 && echo "  nook: removed $(echo $ids | wc -w) containers"; }
	fi
	if [ -n "$PODMAN_DRIVER" ]; then
		ids=$($PODMAN_CMD ps -aq 2>/dev/null)
		[ -z "$ids" ] || { $PODMAN_CMD rm -af -t 0 >/dev/null 2>&1 && echo "  podman: removed $(echo $ids | wc -w) containers"; }
		$PODMAN_CMD rmi -af >/dev/null 2>&1
	fi
	if [ -n "$CTRD_PID" ] && kill -0 "$CTRD_PID" 2>/dev/null; then
		ids=$($CTR_CMD tasks ls -q 2>/dev/null)
		for p in $ids; do $CTR_CMD tasks kill -s SIGKILL "$p" >/dev/null 2>&1; done
		for p in $ids; do
			for _ in 1 2 3 4 5 6 7 8 9 10; do
				$CTR_CMD tasks delete "$p" >/dev/null 2>&1 && break
				sleep 0.2
			done
		done
		ids=$($CTR_CMD containers ls -q 2>/dev/null)
		# shellcheck disable=SC2086 # ids: no blanks
		[ -z "$ids" ] || { $CTR_CMD containers rm $ids >/dev/null 2>&1 && echo "  containerd: removed $(echo $ids | wc -w) containers"; }
		$CTR_CMD images rm $($CTR_CMD images ls -q 2>/dev/null) >/dev/null 2>&1
		bench_stop_pid "$CTRD_PID" containerd
		echo "  containerd: stopped (pid $CTRD_PID)"
		# The runc shim keeps runc's state under /run/containerd/runc/<namespace> (the shim's
		# fixed root, whatever containerd's state dir): our namespace's, empty by now.
		rmdir "/run/containerd/runc/$TAG" 2>/dev/null && echo "  containerd: removed /run/containerd/runc/$TAG"
	fi
	# Whatever is left in our cgroups or runs our binaries or state dirs (normally nothing).
	# Podman's and containerd's parent cgroups (/nookbench-PID-podman, /nookbench-PID) stay
	# behind empty once their containers are gone; anything still in one is a leftover.
	left=$( (our_cgroups; nook_cgroups) | sort -u -r)
	if [ -n "$left" ]; then
		# shellcheck disable=SC2086 # cgroup paths: no blanks
		p=$(find $left -name cgroup.procs -exec cat {} + 2>/dev/null | wc -l)
		# shellcheck disable=SC2086
		[ "$p" = 0 ] || echo "  WARNING: $p processes left in our cgroups, SIGKILL: $(find $left -name cgroup.procs -exec cat {} + | tr '\n' ' ')"
		# shellcheck disable=SC2086
		kill_cgroups $left
		echo "  removed $(echo $left | wc -w) cgroup dirs of ours (Podman's and containerd's parents, in every hierarchy)"
	fi
	left=$(bench_procs_under "$WORK")
	if [ -n "$left" ]; then
		echo "  leftover processes, SIGKILL: $(echo $left)"
		# shellcheck disable=SC2086 # pids
		kill -KILL $left 2>/dev/null
		sleep 0.3
	fi
	if ! bench_unmount_under "$WORK"; then
		echo "  WARNING: still mounted, $WORK kept:"
		bench_mounts_under "$WORK" | sed 's/^/    /'
		rc=1
	else
		rm -rf "$WORK"
	fi
	left=$( (our_cgroups; ls -d /sys/fs/cgroup/*/nook/"$TAG"* 2>/dev/null) | wc -l)
	echo "  left behind: $left cgroups named $TAG*, $(bench_procs_under "$WORK" | wc -l) processes, $(bench_mounts_under "$WORK" | wc -l) mounts under $WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cp "$NOOK_SRC" "$NOOK_BIN"
# The lean per-container monitor nook hands over to once a container runs (next to nook).
if [ -x "$(dirname "$NOOK_SRC")/nook-monitor" ]; then
	cp "$(dirname "$NOOK_SRC")/nook-monitor" "$WORK/bin/nook-monitor"
fi
echo "nook:       $("$NOOK_BIN" --version 2>&1 | tr '\n' ' ')($NOOK_SRC)"
case " $ENGINES " in *" podman "*)
	echo "podman:     $(podman --version), conmon $(conmon --version | head -1 | awk '{print $3}'), $(runc --version | head -1)" ;;
esac
case " $ENGINES " in *" containerd "*)
	echo "containerd: $(containerd --version | awk '{print $3}'), shim $(command -v containerd-shim-runc-v2), $(runc --version | head -1)" ;;
esac
echo "host:       $(bench_host)"
echo "count:      $COUNT containers per engine; engines: $ENGINES"

# ---------------------------------------------------------------------------------------------
echo
echo "=== setup ==="
# The image: nook makes its built-in busybox on first use; one untimed run also warms nook up.
$NOOK_CMD run --rm --network none nook.local/busybox true </dev/null
$NOOK_CMD save -o "$WORK/busybox.tar" nook.local/busybox
echo "image: nook.local/busybox, $(du -k "$WORK/busybox.tar" | cut -f1) KiB docker-archive (nook save)"

for e in $ENGINES; do
	case $e in
	podman)
		for drv in overlay vfs; do
			if $PODMAN_CMD --storage-driver $drv load -i "$WORK/busybox.tar" >"$WORK/podman.out" 2>&1 &&
				$PODMAN_CMD --storage-driver $drv run --rm --network none $PODMAN_ULIMITS nook.local/busybox true \
					</dev/null >>"$WORK/podman.out" 2>&1; then
				PODMAN_DRIVER=$drv
				break
			fi
			echo "podman with $drv storage failed:"
			sed 's/^/    /' "$WORK/podman.out"
			$PODMAN_CMD --storage-driver $drv rmi -af >/dev/null 2>&1 || true
			bench_unmount_under "$WORK/podman" || true
			rm -rf "$WORK/podman/storage" "$WORK/podman/run"
		done
		[ -n "$PODMAN_DRIVER" ] || exit 1
		PODMAN_CMD="$PODMAN_CMD --storage-driver $PODMAN_DRIVER"
		echo "podman: image loaded, $PODMAN_DRIVER storage, runtime $($PODMAN_CMD info --format '{{.Host.OCIRuntime.Path}}')"
		;;
	containerd)
		cat >"$CTRD_DIR/config.toml" <<-EOF
			version = 2
			root = "$CTRD_DIR/root"
			state = "$CTRD_DIR/state"
			disabled_plugins = ["io.containerd.grpc.v1.cri"]
			[grpc]
			  address = "$CTRD_SOCK"
			[ttrpc]
			  address = "$CTRD_SOCK.ttrpc"
			[plugins."io.containerd.internal.v1.opt"]
			  path = "$CTRD_DIR/opt"
		EOF
		containerd --config "$CTRD_DIR/config.toml" >"$CTRD_DIR/containerd.log" 2>&1 &
		CTRD_PID=$!
		for ((i = 0; i < 100; i++)); do
			ctr -a "$CTRD_SOCK" version >/dev/null 2>&1 && break
			kill -0 "$CTRD_PID" 2>/dev/null || break
			sleep 0.1
		done
		if ! ctr -a "$CTRD_SOCK" version >/dev/null 2>&1; then
			echo "containerd did not come up:"
			tail -n 20 "$CTRD_DIR/containerd.log" | sed 's/^/    /'
			exit 1
		fi
		$CTR_CMD images import "$WORK/busybox.tar" >/dev/null
		CTR_IMG=$($CTR_CMD images ls -q | head -1)
		$CTR_CMD run --rm --runtime io.containerd.runc.v2 "$CTR_IMG" "$TAG-warm" true </dev/null
		echo "containerd: private daemon pid $CTRD_PID, socket $CTRD_SOCK, namespace $TAG, image $CTR_IMG"
		;;
	esac
done

# ---------------------------------------------------------------------------------------------
start() { # start ENGINE I: one detached container; prints nothing, fails loudly
	local out rc=0
	case $1 in
	nook)
		out=$($NOOK_CMD run -d --network none nook.local/busybox sleep 1000000 </dev/null 2>&1) || rc=$?
		[ "$rc" != 0 ] || echo "$out" >>"$WORK/nook-ids"
		;;
	podman)
		# shellcheck disable=SC2086
		out=$($PODMAN_CMD run -d --network none --cgroup-parent "/$TAG-podman" $PODMAN_ULIMITS \
			nook.local/busybox sleep 1000000 </dev/null 2>&1) || rc=$?
		;;
	containerd)
		out=$($CTR_CMD run -d --runtime io.containerd.runc.v2 "$CTR_IMG" "$TAG-$2" sleep 1000000 </dev/null 2>&1) || rc=$?
		;;
	esac
	if [ "$rc" != 0 ]; then
		echo "density.sh: $1 start $2 failed (exit $rc):" >&2
		printf '%s\n' "$out" | sed 's/^/    /' >&2
		return 1
	fi
}

echo
echo "=== starting $COUNT containers per engine, alternating ==="
read -ra eng <<<"$ENGINES"
ne=${#eng[@]}
for ((i = 1; i <= COUNT; i++)); do
	for ((k = 0; k < ne; k++)); do
		e=${eng[$(((k + i - 1) % ne))]}
		t0=$EPOCHREALTIME
		start "$e" "$i"
		t1=$EPOCHREALTIME
		printf '%s\t%d\t%s\t%s\n' "$e" "$i" "$t0" "$t1" >>"$WORK/times"
	done
	if [ $((i % 10)) = 0 ] || [ "$i" = "$COUNT" ]; then
		echo "  $i/$COUNT started, load $(cut -d' ' -f1 /proc/loadavg)"
	fi
done
sleep "$SETTLE"

# ---------------------------------------------------------------------------------------------
# Per-container processes of each engine, and their Pss.
: >"$WORK/procs"
for p in /proc/[0-9]*; do
	pid=${p#/proc/}
	exe=$(readlink "$p/exe" 2>/dev/null) || continue
	cmd=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
	kind=
	if [ "$exe" = "$NOOK_BIN" ] || { [ "$exe" = "$WORK/bin/nook-monitor" ] && [[ $cmd == *"$WORK/nook "* ]]; }; then
		kind=nook
	elif [ "$(basename "$exe")" = conmon ] && [[ $cmd == *"$WORK/podman/"* ]]; then
		kind=podman
	elif [ "$(basename "$exe")" = containerd-shim-runc-v2 ] && [[ $cmd == *"$CTRD_SOCK"* ]]; then
		kind=containerd
	elif [ "$pid" = "$CTRD_PID" ]; then
		kind=containerd-daemon
	fi
	[ -n "$kind" ] || continue
	pss=$(awk '$1 == "Pss:" { print $2 }' "$p/smaps_rollup" 2>/dev/null)
	rss=$(awk '$1 == "Rss:" { print $2 }' "$p/smaps_rollup" 2>/dev/null)
	# What the process is: nook's subcommand (argv after the global flags), or the program.
	what=$(basename "$exe")
	[ "$kind" != nook ] || [ "$what" = nook-monitor ] ||
		what="nook $(tr '\0' '\n' <"$p/cmdline" | awk 'NR > 1 && !/^-/ && prev !~ /^--(root|log-level|runtime)$/ { print; exit } { prev = $0 }')"
	printf '%s\t%s\t%s\t%s\t%s\n' "$kind" "$pid" "${pss:-0}" "${rss:-0}" "$what" >>"$WORK/procs"
done

running() {
	case $1 in
	nook) $NOOK_CMD ps -q | wc -l ;;
	podman) $PODMAN_CMD ps -q | wc -l ;;
	containerd) $CTR_CMD tasks ls | grep -c RUNNING ;;
	esac
}
: >"$WORK/running"
for e in $ENGINES; do printf '%s\t%s\n' "$e" "$(running "$e")" >>"$WORK/running"; done

echo
echo "results: $COUNT detached busybox 'sleep 1000000' containers per engine, no network;"
echo "  host: $(bench_host)"
python3 - "$WORK/times" "$WORK/procs" "$WORK/running" "$COUNT" "$ENGINES" <<'EOF'
import statistics, sys
tf, pf, rf, count, engines = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5].split()
times = {}
for line in open(tf):
    e, i, t0, t1 = line.split("\t")
    times.setdefault(e, {})[int(i)] = (float(t1) - float(t0)) * 1000
procs = {}
for line in open(pf):
    kind, pid, pss, rss, what = line.rstrip("\n").split("\t")
    procs.setdefault(kind, []).append((int(pid), int(pss), int(rss), what))
running = dict(l.rstrip("\n").split("\t") for l in open(rf))
mid = (count + 1) // 2
def nth(n):
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"
names = {"nook": "nook run -d", "podman": "podman --runtime runc run -d", "containerd": "ctr run -d (runc shim)"}
what = {"nook": "nook-monitor (nook container-monitor until started)", "podman": "conmon", "containerd": "containerd-shim-runc-v2"}
row = {}
print()
print(f"  start times (wall clock of each command, ms) and per-container memory (PSS, KiB)")
print(f"  {'engine':<30} {'1st':>7} {nth(mid):>7} {nth(count):>7} {'median':>7} {'total s':>8}"
      f" {'running':>7} {'procs':>5} {'PSS/ctr':>8} {'RSS/ctr':>8}  per-container processes")
for e in engines:
    t = times.get(e, {})
    if len(t) < count:
        print(f"  {names[e]:<30} incomplete ({len(t)} starts)")
        continue
    p = procs.get(e, [])
    pss = sum(x[1] for x in p) / count
    rss = sum(x[2] for x in p) / count
    kinds = sorted(set(x[3] for x in p))
    row[e] = (t[1], t[mid], t[count], statistics.median(t.values()), pss)
    print(f"  {names[e]:<30} {t[1]:>7.1f} {t[mid]:>7.1f} {t[count]:>7.1f} {statistics.median(t.values()):>7.1f}"
          f" {sum(t.values()) / 1000:>8.1f} {running.get(e, '?'):>7} {len(p):>5} {pss:>8.0f} {rss:>8.0f}"
          f"  {', '.join(kinds) or 'none found'}")
d = procs.get("containerd-daemon")
if d:
    print(f"  (containerd's daemon itself, shared by all its containers: PSS {d[0][1]} KiB, RSS {d[0][2]} KiB)")
if "nook" in row:
    print()
    print(f"  ratios nook/peer (below 1: nook is faster / smaller)")
    print(f"  {'peer':<30} {'1st':>7} {nth(mid):>7} {nth(count):>7} {'median':>7} {'PSS/ctr':>8}")
    n = row["nook"]
    for e in engines:
        if e == "nook" or e not in row:
            continue
        r = row[e]
        print(f"  {names[e]:<30}" + "".join(f" {n[i] / r[i]:>7.2f}" for i in range(4)) + f" {n[4] / r[4]:>8.2f}")
EOF
