#!/usr/bin/env bash
# bench/engine.sh: "engine run", the wall-clock time of `nook run --rm IMAGE true` against
# `podman run --rm IMAGE true` of the same image, timed with hyperfine. Needs root. See
# bench/README.md.
#
#   sudo bench/engine.sh                  # 30 timed runs per command and setting
#   sudo RUNS=60 ROUNDS=6 bench/engine.sh
#
# Environment:
#   RUNS         timed runs per command and setting, at least (default 30)
#   ROUNDS       the runs are split into this many rounds; each round is one hyperfine call
#                over every command, and the order of the commands rotates from round to
#                round, so that slow drift of the machine's load hits every command alike
#                (hyperfine 1.15 cannot interleave runs itself). ROUNDS=1 is a single plain
#                hyperfine call. Default 5: 5 rounds of ceil(RUNS/5) runs.
#   WARMUP       warm-up runs per command in every round (default 3)
#   NOOK         nook binary to time (default: <repo>/bin/nook, built with `make build` if
#                missing). It is copied into the temp dir first, so a concurrent rebuild of
#                bin/ cannot swap binaries in the middle of a benchmark.
#   RESULTS_DIR  where hyperfine's JSON files and log go (default: a new
#                /tmp/nook-engine-results.XXXXXX, kept after the run)
#   COMMANDS     which of the commands below to time (default: all five)
#   DOCKER       0: leave Docker out. Otherwise (default) docker.io is installed from apt if
#                dockerd is missing, and `docker run` is timed when dockerd can run here
#                privately; if it cannot, the script says why and goes on without it.
#
# Commands compared, each in its own private state (temp dir), all with --network none:
#   nook         nook --root R run --rm --network none nook.local/busybox true
#   nook-runc    the same with nook --runtime $(command -v runc): nook's engine driving runc
#   podman       podman <private storage> run --rm --network none --ulimit ... IMAGE true, with
#                Podman's default OCI runtime (crun on Debian 12)
#   podman-runc  the same with podman --runtime $(command -v runc)
#   docker       /usr/bin/docker -H unix://<private socket> run --rm --network none IMAGE true,
#                against a private dockerd (own --data-root, --exec-root, --pidfile, socket;
#                --bridge=none --iptables=false --ip6tables=false; overlay2; cgroupfs), started
#                in each setting's mount namespace; Docker's default runtime, runc
# Podman runs the very image nook runs: `nook save` writes nook.local/busybox as a
# docker-archive and `podman load` reads it. If that fails, both import the same rootfs tarball.
#
# Settings, by the host's cgroup layout:
#   hybrid   (hybrid v1 host) the host as it is. crun refuses such hosts ("cgroups in hybrid
#            mode not supported"): the podman line is then reported as refused, not timed.
#   v1ns     (hybrid v1 host) every command inside one private mount namespace in which the
#            cgroup2 mount at /sys/fs/cgroup/unified is unmounted, so that every runtime sees a
#            plain cgroup v1 host and crun runs too. The host's mounts are not touched.
#   v1, v2   (pure v1 or pure v2 host) the host as it is.
# Exit status: nonzero if any command failed (anything but crun's refusal of a hybrid host).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SELF="$HERE/$(basename "${BASH_SOURCE[0]}")"
REPO=$(dirname "$HERE")
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

# Docker, run privately: its own data root, exec root, pid file and socket under $DW, no bridge,
# no iptables, no IP forwarding or masquerading, cgroupfs with its containers under
# /nookbench-docker-<pid>. Needs DW, DOCKER_PARENT in the environment.
dockerd_start() { # starts dockerd in this mount namespace; waits for its socket
	local i
	mkdir -p "$DW/client"
	[ -e "$DW/daemon.json" ] || echo '{}' >"$DW/daemon.json"
	dockerd --data-root "$DW/data" --exec-root "$DW/exec" --pidfile "$DW/dockerd.pid" \
		-H "unix://$DW/docker.sock" --config-file "$DW/daemon.json" \
		--bridge=none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
		--storage-driver "${DOCKER_STORAGE:-overlay2}" --exec-opt native.cgroupdriver=cgroupfs \
		--cgroup-parent "/$DOCKER_PARENT" --log-level warn </dev/null >>"$DW/dockerd.log" 2>&1 &
	DOCKERD_PID=$!
	for ((i = 0; i < 300; i++)); do
		$DOCKER_CMD version >/dev/null 2>&1 && return 0
		kill -0 "$DOCKERD_PID" 2>/dev/null || break
		sleep 0.1
	done
	return 1
}
dockerd_stop() { # stops the dockerd this process started, by its pid
	[ -n "${DOCKERD_PID:-}" ] || return 0
	"$HERE/settle.sh" cont "$DOCKERD_PID" # it may be paused (see phase)
	bench_stop_pid "$DOCKERD_PID" dockerd
	DOCKERD_PID=
}

# ---------------------------------------------------------------------------------------------
# One setting: trial run of every command, then ROUNDS hyperfine calls. Runs in whatever mount
# namespace the caller set up. Needs WORK, RESULTS_DIR, NOOK_CMD, PODMAN_CMD, RUNC, IMG_NOOK,
# IMG_PODMAN, PODMAN_ULIMITS, RUNS_PER_ROUND, ROUNDS, WARMUP in the environment.
phase() {
	local setting=$1 key cmd out rc r i n
	echo
	echo "=== setting: $setting ==="
	echo "/sys/fs/cgroup: $(stat -f -c %T /sys/fs/cgroup)$(
		[ -d /sys/fs/cgroup/unified ] && mountpoint -q /sys/fs/cgroup/unified &&
			echo ", /sys/fs/cgroup/unified: $(stat -f -c %T /sys/fs/cgroup/unified)")"
	echo "podman sees: $($PODMAN_CMD info --format 'cgroups {{.Host.CgroupsVersion}}, manager {{.Host.CgroupManager}}, storage {{.Store.GraphDriverName}}' 2>&1)"

	local -a keys=() cmds=()
	local -A all=(
		[nook]="$NOOK_CMD run --rm --network none $IMG_NOOK true"
		[nook-runc]="$NOOK_CMD --runtime $RUNC run --rm --network none $IMG_NOOK true"
		[podman]="$PODMAN_CMD run --rm --network none $PODMAN_ULIMITS $IMG_PODMAN true"
		[podman-runc]="$PODMAN_CMD --runtime $RUNC run --rm --network none $PODMAN_ULIMITS $IMG_PODMAN true"
		[docker]="$DOCKER_CMD run --rm --network none $IMG_NOOK true"
	)
	local -a order=()
	for key in nook nook-runc podman podman-runc; do
		[[ " $COMMANDS " == *" $key "* ]] && order+=("$key")
	done
	if [ -n "$DOCKER_OK" ] && [[ " $COMMANDS " == *" docker "* ]]; then
		# dockerd runs in this setting's mount namespace, so that it and its containers see
		# the same cgroup mounts as every other command here; stopped when the phase ends.
		trap 'dockerd_stop' EXIT
		if dockerd_start; then
			order+=(docker)
			echo "docker sees: $($DOCKER_CMD info --format 'cgroups v{{.CgroupVersion}}, driver {{.CgroupDriver}}, storage {{.Driver}}, runtime {{.DefaultRuntime}}' 2>&1)"
		else
			echo "  docker: dockerd did not come up in this setting:"
			tail -n 5 "$DW/dockerd.log" | sed 's/^/      /'
			echo "$setting	docker	failed	dockerd did not come up: $(tail -n 3 "$DW/dockerd.log" | tr '\n' ' ')" >>"$WORK/status"
		fi
	fi
	for key in "${order[@]}"; do
		cmd=${all[$key]}
		echo "  $key: $cmd"
		rc=0
		# shellcheck disable=SC2086 # a command line: binary plus flags, no blanks in paths
		out=$($cmd </dev/null 2>&1) || rc=$?
		if [ "$rc" = 0 ]; then
			keys+=("$key")
			cmds+=("$cmd")
		elif [ "$key" = podman ] && [[ "$out" == *"cgroups in hybrid mode not supported"* ]]; then
			echo "    REFUSED (trial run exited $rc):"
			printf '%s\n' "$out" | sed 's/^/      /'
			echo "$setting	$key	refused	exit $rc: $(echo "$out" | tr '\n' ' ')" >>"$WORK/status"
		else
			echo "    FAILED (trial run exited $rc):"
			printf '%s\n' "$out" | sed 's/^/      /'
			echo "$setting	$key	failed	trial run exit $rc: $(echo "$out" | tr '\n' ' ')" >>"$WORK/status"
		fi
	done
	n=${#keys[@]}
	[ "$n" -gt 0 ] || return 0

	for ((r = 1; r <= ROUNDS; r++)); do
		local -a args=()
		for ((i = 0; i < n; i++)); do
			local j=$(((i + r - 1) % n))
			args+=(--command-name "${keys[$j]}" "${cmds[$j]}")
			# The private dockerd is paused before every run but Docker's own (see
			# bench/settle.sh); hyperfine takes one --prepare per command, in order.
			if [ -n "${DOCKERD_PID:-}" ] && [ "${keys[$j]}" = docker ]; then
				args+=(--prepare "$HERE/settle.sh cont $DOCKERD_PID")
			elif [ -n "${DOCKERD_PID:-}" ]; then
				args+=(--prepare "$HERE/settle.sh stop $DOCKERD_PID")
			fi
		done
		echo "  round $r/$ROUNDS: $RUNS_PER_ROUND runs + $WARMUP warm-up each, order: $(
			for ((i = 0; i < n; i++)); do printf '%s ' "${keys[$(((i + r - 1) % n))]}"; done)"
		rc=0
		{
			echo "### $setting round $r"
			# -N: no shell in between; stdin is /dev/null for every run.
			# Before each command's set of runs, a quiet machine (bench/settle.sh).
			hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS_PER_ROUND" \
				--setup "$HERE/settle.sh" \
				--export-json "$RESULTS_DIR/$setting-round$r.json" "${args[@]}" 2>&1
		} >>"$RESULTS_DIR/hyperfine.log" </dev/null || rc=$?
		if [ "$rc" != 0 ]; then
			echo "  FAILED: hyperfine exited $rc in round $r; the end of $RESULTS_DIR/hyperfine.log:"
			tail -n 15 "$RESULTS_DIR/hyperfine.log" | sed 's/^/    /'
			echo "$setting	hyperfine	failed	round $r exited $rc" >>"$WORK/status"
			rm -f "$RESULTS_DIR/$setting-round$r.json"
			return 0
		fi
	done
}

if [ "${1:-}" = __phase ]; then
	shift
	phase "$@"
	exit 0
fi

# ---------------------------------------------------------------------------------------------
if [ "$(id -u)" != 0 ]; then
	echo "engine.sh: needs root (sudo $0)" >&2
	exit 1
fi
missing=
for tool in hyperfine podman runc python3 unshare findmnt mountpoint; do
	command -v "$tool" >/dev/null || missing="$missing $tool"
done
[ -x /bin/busybox ] || missing="$missing busybox-static"
if [ -n "$missing" ]; then
	echo "engine.sh: missing:$missing (apt-get install -y hyperfine podman runc crun busybox-static python3)" >&2
	exit 1
fi

RUNS=${RUNS:-30}
ROUNDS=${ROUNDS:-5}
WARMUP=${WARMUP:-3}
if [ "$ROUNDS" -lt 1 ] || [ "$RUNS" -lt 2 ]; then
	echo "engine.sh: need RUNS >= 2 and ROUNDS >= 1" >&2
	exit 1
fi
RUNS_PER_ROUND=$(((RUNS + ROUNDS - 1) / ROUNDS))
[ "$RUNS_PER_ROUND" -ge 2 ] || RUNS_PER_ROUND=2
export RUNS_PER_ROUND ROUNDS WARMUP

NOOK_SRC=${NOOK:-$REPO/bin/nook}
if [ ! -x "$NOOK_SRC" ]; then
	echo "building $NOOK_SRC (make build)"
	make -C "$REPO" build
fi

export WORK
WORK=$(mktemp -d /tmp/nook-engine.XXXXXX)
CREATED_RESULTS=
if [ -z "${RESULTS_DIR:-}" ]; then
	RESULTS_DIR=$(mktemp -d /tmp/nook-engine-results.XXXXXX)
	CREATED_RESULTS=1
fi
export RESULTS_DIR
mkdir -p "$RESULTS_DIR"
: >"$WORK/status"

NOOK_ROOT="$WORK/nook"
PODMAN_STORE="$WORK/podman"
mkdir -p "$WORK/bin" "$PODMAN_STORE/tmp"
NOOK_BIN="$WORK/bin/nook"
export NOOK_CMD="$NOOK_BIN --root $NOOK_ROOT"
PODMAN_BASE="podman --root $PODMAN_STORE/storage --runroot $PODMAN_STORE/run --tmpdir $PODMAN_STORE/tmp --cgroup-manager cgroupfs --events-backend file"
export PODMAN_ULIMITS="--ulimit nofile=1024:1024 --ulimit nproc=4096:4096"
RUNC=$(command -v runc)
export RUNC
PODMAN_CMD=
DOCKER=${DOCKER:-auto}
export COMMANDS=${COMMANDS:-nook nook-runc podman podman-runc docker}
[[ " $COMMANDS " == *" docker "* ]] || DOCKER=0
export DW="$WORK/docker" DOCKER_PARENT="nookbench-docker-$$" DOCKER_OK=
export DOCKER_CMD="/usr/bin/docker --config $DW/client -H unix://$DW/docker.sock"
DOCKERD_PID=
mkdir -p "$DW"
# dockerd 20.10 writes its trust key to /etc/docker/key.json whatever its roots; removed at the
# end if it was not there before.
KEYJSON_NEW=
[ -e /etc/docker/key.json ] || KEYJSON_NEW=1

# nook keeps its cgroups at /nook/<id>; a run does not tell us its id, so we only report /nook/*
# cgroups that appeared during the benchmark and are still there (another nook on the machine
# may own them). Podman's container ids are in its event log (file backend).
# (No /nook at all is fine: nook removes the empty parent with its last container.)
nook_cgroups() { { find /sys/fs/cgroup/memory/nook -mindepth 1 -maxdepth 1 -type d -printf '%f\n' 2>/dev/null || true; } | sort; }
nook_cgroups >"$WORK/nook-cgroups.before"

our_mounts() { findmnt -rn -o TARGET | grep -F "$WORK/" | sort -r || true; }

cleanup() {
	local rc=$? id cg pid left m ids
	trap - EXIT INT TERM
	set +e
	echo
	# dockerd, if one of ours still runs (a phase stops its own; an interrupted one may not
	# have): by the pid in our pid file, if that process is a dockerd with our exec root.
	dockerd_stop
	if [ -s "$DW/dockerd.pid" ]; then
		pid=$(cat "$DW/dockerd.pid")
		if tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF "$DW/exec"; then
			DOCKERD_PID=$pid
			kill -TERM "$pid"
			for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
			kill -KILL "$pid" 2>/dev/null
			echo "cleanup: stopped dockerd (pid $pid)"
		fi
	fi
	# Whatever still runs from our temp dir (Docker's containerd and shims, normally nothing).
	left=$(bench_procs_under "$WORK")
	if [ -n "$left" ]; then
		echo "cleanup: leftover processes, SIGKILL: $(echo $left)"
		# shellcheck disable=SC2086 # pids
		kill -KILL $left 2>/dev/null
		sleep 0.3
	fi
	if [ -n "$KEYJSON_NEW" ] && [ -e /etc/docker/key.json ]; then
		rm -f /etc/docker/key.json
		echo "cleanup: removed /etc/docker/key.json (written by our dockerd)"
	fi
	# Docker's cgroups: its parent in every hierarchy.
	left=$(find /sys/fs/cgroup -mindepth 1 -maxdepth 2 -type d -name "$DOCKER_PARENT" 2>/dev/null)
	for cg in $left; do
		for pid in $(find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
		find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	# Containers (there should be none: every run is --rm), then Podman's images.
	if [ -n "$PODMAN_CMD" ]; then
		$PODMAN_CMD rm -af -t 0 >/dev/null 2>&1
		$PODMAN_CMD rmi -af >/dev/null 2>&1
	fi
	if [ -x "$NOOK_BIN" ] && [ -d "$NOOK_ROOT" ]; then
		ids=$($NOOK_CMD ps -aq 2>/dev/null)
		# shellcheck disable=SC2086
		[ -z "$ids" ] || $NOOK_CMD rm -f $ids >/dev/null 2>&1
	fi
	# Podman's cgroups: libpod-<id> under any hierarchy, for the ids in our event log.
	ids=$(grep -ho '"ID":"[0-9a-f]\{64\}"' "$PODMAN_STORE"/tmp/events/*.log 2>/dev/null | cut -d'"' -f4 | sort -u)
	left=
	for id in $ids; do
		left="$left $(find /sys/fs/cgroup -depth -type d -name "*$id*" 2>/dev/null)"
	done
	for cg in $left; do
		{ while read -r pid; do kill -KILL "$pid"; done <"$cg/cgroup.procs"; } 2>/dev/null
	done
	[ -z "${left// /}" ] || sleep 0.2
	for cg in $left; do rmdir "$cg" 2>/dev/null && echo "cleanup: removed leftover cgroup $cg"; done
	# nook's: report only.
	left=$(nook_cgroups | comm -13 "$WORK/nook-cgroups.before" -)
	if [ -n "$left" ]; then
		echo "cleanup: note: /nook/* cgroups that appeared during the run and remain (maybe another nook's, not touched):"
		# shellcheck disable=SC2086 # ids and mount paths: no blanks
		printf '    %s\n' $left
	fi
	# Mounts under the temp dir (Podman's storage, nook's netns dir), deepest first.
	for m in $(our_mounts); do umount "$m" 2>/dev/null || umount -l "$m"; done
	m=$(our_mounts)
	if [ -n "$m" ]; then
		echo "cleanup: WARNING: still mounted, $WORK kept:"
		# shellcheck disable=SC2086 # ids and mount paths: no blanks
		printf '    %s\n' $m
		rc=1
	else
		rm -rf "$WORK"
		echo "cleanup: removed $WORK (nook root, Podman storage, image tarball)"
	fi
	[ -n "$CREATED_RESULTS" ] && rmdir "$RESULTS_DIR" 2>/dev/null
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cp "$NOOK_SRC" "$NOOK_BIN"
# the lean per-container monitor nook hands a running container over to, if built
[ ! -x "$(dirname "$NOOK_SRC")/nook-monitor" ] || cp "$(dirname "$NOOK_SRC")/nook-monitor" "$(dirname "$NOOK_BIN")/"

# The host's cgroup layout decides the settings.
if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
	VENUE="pure cgroup v2"
	SETTINGS="v2"
elif mountpoint -q /sys/fs/cgroup/unified 2>/dev/null; then
	VENUE="cgroup v1 hybrid (v1 controllers, cgroup2 at /sys/fs/cgroup/unified with '$(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null)')"
	SETTINGS="hybrid v1ns"
else
	VENUE="pure cgroup v1"
	SETTINGS="v1"
fi

echo "nook:      $("$NOOK_BIN" --version 2>&1 | tr '\n' ' ')($NOOK_SRC)"
echo "podman:    $(podman --version)"
echo "runc:      $(runc --version | head -1) ($RUNC)"
command -v crun >/dev/null && echo "crun:      $(crun --version | head -1)"
echo "hyperfine: $(hyperfine --version)"
# shellcheck disable=SC1091
echo "host:      $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "cgroups:   $VENUE"
echo "runs:      $ROUNDS round(s) x $RUNS_PER_ROUND timed runs (+ $WARMUP warm-up per round) per command and setting"

# The image. nook builds its built-in nook.local/busybox from the host's busybox on first use
# (run/create; `save` of a fresh root says "no such image"), so one untimed run comes first.
echo
echo "=== image ==="
$NOOK_CMD run --rm --network none nook.local/busybox true </dev/null
$NOOK_CMD save -o "$WORK/busybox.tar" nook.local/busybox
echo "nook save: $(du -k "$WORK/busybox.tar" | cut -f1) KiB docker-archive of $($NOOK_CMD images --format '{{.Repository}}:{{.Tag}} {{.ID}}' 2>&1 | tr '\n' ' ')"

# Podman gets nook's archive (`podman load`); if Podman cannot load it, both sides import the
# image's one layer, the same rootfs tarball. overlay storage first, vfs if overlay cannot
# mount the image's layers here.
IMG_NOOK=nook.local/busybox
IMG_PODMAN=nook.local/busybox
IMPORTED=
import_layer() { # the image's layer tarball, extracted from the archive: path on stdout
	local layer
	layer=$(python3 - "$WORK/busybox.tar" <<-'EOF'
		import json, sys, tarfile
		t = tarfile.open(sys.argv[1])
		print(json.load(t.extractfile("manifest.json"))[0]["Layers"][-1])
		EOF
	)
	[ -e "$WORK/$layer" ] || tar -xf "$WORK/busybox.tar" -C "$WORK" "$layer"
	echo "$WORK/$layer"
}
podman_store() { # DRIVER: fresh private storage with that driver, the image in it, mountable
	local img=nook.local/busybox
	IMPORTED=
	[ -z "$PODMAN_CMD" ] || $PODMAN_CMD rmi -af >/dev/null 2>&1 || true
	for m in $(our_mounts); do umount "$m" 2>/dev/null || umount -l "$m"; done
	rm -rf "$PODMAN_STORE/storage" "$PODMAN_STORE/run"
	PODMAN_CMD="$PODMAN_BASE --storage-driver $1"
	if $PODMAN_CMD load -i "$WORK/busybox.tar" >"$WORK/podman-load.out" 2>&1; then
		echo "podman load ($1 storage): ok"
	else
		echo "podman load ($1 storage) of nook's archive failed:"
		sed 's/^/    /' "$WORK/podman-load.out"
		echo "falling back: both sides import the image's one layer (the same rootfs tarball)"
		img=localhost/nookbench/busybox-import:latest
		$PODMAN_CMD import "$(import_layer)" "$img" >"$WORK/podman-load.out" 2>&1 || {
			sed 's/^/    /' "$WORK/podman-load.out"
			return 1
		}
		IMPORTED=1
	fi
	IMG_PODMAN=$img
	if ! { $PODMAN_CMD image mount "$img" && $PODMAN_CMD image unmount "$img"; } >"$WORK/podman-load.out" 2>&1; then
		echo "podman image mount ($1 storage) failed:"
		sed 's/^/    /' "$WORK/podman-load.out"
		return 1
	fi
}
podman_store overlay || podman_store vfs || {
	echo "engine.sh: Podman cannot hold the image with overlay or vfs storage" >&2
	exit 1
}
if [ -n "$IMPORTED" ]; then
	IMG_NOOK=nookbench/busybox-import:latest
	$NOOK_CMD import "$(import_layer)" "$IMG_NOOK" >/dev/null
fi
echo "podman image: $($PODMAN_CMD images --format '{{.Repository}}:{{.Tag}} {{.ID}}' 2>&1 | tr '\n' ' ')"
read -r PODMAN_RT PODMAN_RT_PATH < <($PODMAN_CMD info --format '{{.Host.OCIRuntime.Name}} {{.Host.OCIRuntime.Path}}')
echo "podman's default OCI runtime: $PODMAN_RT ($PODMAN_RT_PATH)"
export PODMAN_CMD IMG_NOOK IMG_PODMAN

# Docker (dockerd from Debian's docker.io), when it can run here privately. DOCKER=0 leaves it
# out; otherwise docker.io is installed from apt if dockerd is missing (services are not
# started: the install runs under a policy-rc.d that forbids it). It gets nook's archive with
# `docker load`. Any failure is printed and Docker is skipped; the other commands go on.
echo
echo "=== docker ==="
if [ "$DOCKER" = 0 ]; then
	echo "DOCKER=0: Docker left out"
else
	if ! command -v dockerd >/dev/null || [ ! -x /usr/bin/docker ]; then
		made_policy=
		if [ ! -e /usr/sbin/policy-rc.d ]; then
			printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
			chmod +x /usr/sbin/policy-rc.d
			made_policy=1
		fi
		bench_apt dockerd:docker.io || echo "docker.io could not be installed from apt"
		[ -z "$made_policy" ] || rm -f /usr/sbin/policy-rc.d
	fi
	if ! command -v dockerd >/dev/null || [ ! -x /usr/bin/docker ]; then
		echo "SKIP docker: dockerd or /usr/bin/docker (apt package docker.io) is not installed"
	elif ! dockerd_start; then
		echo "SKIP docker: dockerd could not run here privately; its log:"
		tail -n 15 "$DW/dockerd.log" | sed 's/^/    /'
	elif ! out=$($DOCKER_CMD load -i "$WORK/busybox.tar" 2>&1); then
		echo "SKIP docker: docker load of nook's archive failed:"
		printf '%s\n' "$out" | sed 's/^/    /'
	else
		echo "dockerd:   $(dockerd --version) (private: $DW; no bridge, no iptables; cgroupfs, parent /$DOCKER_PARENT)"
		echo "docker:    $($DOCKER_CMD info --format 'storage {{.Driver}}, runtime {{.DefaultRuntime}}, cgroups v{{.CgroupVersion}}' 2>&1)"
		echo "docker load: $(printf '%s' "$out" | tr '\n' ' ')"
		DOCKER_OK=1
	fi
	dockerd_stop
fi
export DOCKER_OK

for setting in $SETTINGS; do
	if [ "$setting" = v1ns ]; then
		# Private mount namespace, private propagation: the umount stays inside it.
		unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified && exec "$@"' sh \
			bash "$SELF" __phase "$setting"
	else
		bash "$SELF" __phase "$setting"
	fi
done

echo
echo "load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs; other jobs' load makes the figures noisy)"

# ---------------------------------------------------------------------------------------------
echo
python3 - "$RESULTS_DIR" "$WORK/status" "$PODMAN_RT" "$SETTINGS" <<'EOF'
import json, glob, os, statistics, sys
res, status, prt, settings = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split()
labels = {
    "hybrid": "this host's hybrid cgroup v1 hierarchy, as it is",
    "v1ns": "private mount ns without the cgroup2 mount at /sys/fs/cgroup/unified: plain cgroup v1",
    "v1": "this host's cgroup v1 hierarchy",
    "v2": "this host's cgroup v2 hierarchy",
}
names = {
    "nook": "nook run",
    "nook-runc": "nook --runtime runc run",
    "podman": f"podman run (default runtime: {prt})",
    "podman-runc": "podman --runtime runc run",
    "docker": "docker run (dockerd, runc)",
}
notes = {}
for line in open(status):
    s, key, what, msg = line.rstrip("\n").split("\t", 3)
    notes.setdefault(s, []).append((key, what, msg))
for s in settings:
    times = {}
    for p in sorted(glob.glob(os.path.join(res, f"{s}-round*.json"))):
        for r in json.load(open(p))["results"]:
            times.setdefault(r["command"], []).extend(r["times"])
    print(f"{s}: {labels[s]}")
    if not times:
        print("  no results")
    else:
        med = {k: statistics.median(v) * 1000 for k, v in times.items()}
        base = med.get("nook")
        print(f"  {'command':<36} {'median':>9} {'mean ± stddev':>19} {'min':>8} {'runs':>5}  nook/peer")
        for k in ("nook", "nook-runc", "podman", "podman-runc", "docker"):
            if k not in times:
                continue
            v = [t * 1000 for t in times[k]]
            sd = statistics.stdev(v) if len(v) > 1 else 0.0
            ratio = "" if k == "nook" or base is None else f"{base / med[k]:.2f}"
            print(f"  {names[k]:<36} {med[k]:>6.1f} ms {statistics.mean(v):>7.1f} ± {sd:5.1f} ms"
                  f" {min(v):>5.1f} ms {len(v):>5}  {ratio}")
        if "nook-runc" in med and "podman-runc" in med:
            print(f"  same OCI runtime (runc), engine against engine:"
                  f" nook-runc/podman-runc = {med['nook-runc'] / med['podman-runc']:.2f}")
    for key, what, msg in notes.get(s, []):
        print(f"  {what.upper()}: {names.get(key, key)}: {msg}")
    print()
print("nook/peer: nook run's median divided by the peer's (below 1: nook is faster).")
print(f"hyperfine JSON and log: {res}")
EOF

if grep -q '	failed	' "$WORK/status"; then
	echo "engine.sh: some commands failed (see above)" >&2
	exit 1
fi
