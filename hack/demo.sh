#!/usr/bin/env bash
# demo.sh [command...] — a busybox shell in a nook container, on your terminal. Needs root.
#
# Installs busybox-static and make if missing, builds bin/nook-runtime, makes a throw-away OCI
# bundle (a busybox rootfs and a config.json) under /tmp, and runs it in the foreground:
#   bin/nook-runtime run -b BUNDLE nook-demo-PID
# With arguments, they are fed to the container's sh on stdin instead of your keyboard:
#   hack/demo.sh 'hostname; cat /proc/self/cgroup; ps'
# The container's state and the bundle are removed afterwards, also when something fails.
# Env: NOOK_DEMO_KEEP=1 keeps the bundle (its path is printed); NOOK_DEMO_RUNTIME=runc runs the
# same demo with another runtime (no build).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "demo: needs root: sudo $0" >&2; exit 1; }
command -v go >/dev/null || PATH=$PATH:/usr/local/go/bin

hack/install-deps.sh demo
if [ -n "${NOOK_DEMO_RUNTIME:-}" ]; then
	RT=$(command -v "$NOOK_DEMO_RUNTIME")
else
	make --no-print-directory -s build
	RT=$PWD/bin/nook-runtime
fi
ID=nook-demo-$$
B=$(mktemp -d /tmp/nook-demo.XXXXXX)
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	"$RT" kill "$ID" KILL >/dev/null 2>&1 || true
	"$RT" delete --force "$ID" >/dev/null 2>&1 || "$RT" delete "$ID" >/dev/null 2>&1 || true
	if [ -n "${NOOK_DEMO_KEEP:-}" ]; then echo "demo: bundle kept in $B" >&2; else rm -rf --one-file-system "$B"; fi
}
trap cleanup EXIT

# ---- rootfs: one static busybox and a symlink per applet, like `busybox --install -s` ----
R=$B/rootfs
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root}
chmod 1777 "$R/tmp"
chmod 700 "$R/root"
cp /bin/busybox "$R/bin/busybox"
# --list-full gives each applet's home (usr/bin/awk, sbin/ip); older builds only have --list.
if applets=$("$R/bin/busybox" --list-full 2>/dev/null) && [ -n "$applets" ]; then :; else
	applets=$("$R/bin/busybox" --list | sed 's|^|bin/|')
fi
for a in $applets; do
	[ "${a##*/}" = busybox ] || [ -e "$R/$a" ] || ln -s /bin/busybox "$R/$a"
done
cat >"$R/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$R/etc/group" <<'EOF'
root:x:0:
tty:x:5:
nogroup:x:65534:
EOF
printf '127.0.0.1\tlocalhost nook\n::1\tlocalhost\n' >"$R/etc/hosts"

# ---- config.json: the articles' container — own pid/uts/ipc/mount/net/cgroup namespaces,
# hostname "nook", a fresh /proc and /tmp, and limits: 100 pids, 256 MiB, half a CPU ----
{
	cat >"$B/config.json" <<EOF
{
	"ociVersion": "1.2.0",
	"process": {
		"terminal": false,
		"user": {"uid": 0, "gid": 0},
		"args": ["sh"],
		"env": [
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"TERM=${TERM:-xterm}",
			"HOME=/root"
		],
		"cwd": "/",
		"capabilities": {
			"bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
			"effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
			"permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
		},
		"rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
		"noNewPrivileges": true
	},
	"root": {"path": "rootfs", "readonly": false},
	"hostname": "nook",
	"mounts": [
		{"destination": "/proc", "type": "proc", "source": "proc"},
		{"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
			"options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
		{"destination": "/dev/pts", "type": "devpts", "source": "devpts",
			"options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
		{"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
			"options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
		{"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
			"options": ["nosuid", "noexec", "nodev"]},
		{"destination": "/sys", "type": "sysfs", "source": "sysfs",
			"options": ["nosuid", "noexec", "nodev", "ro"]},
		{"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
			"options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
		{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
			"options": ["nosuid", "nodev", "mode=1777"]}
	],
	"linux": {
		"resources": {
			"devices": [{"allow": false, "access": "rwm"}],
			"pids": {"limit": 100},
			"memory": {"limit": 268435456},
			"cpu": {"quota": 50000, "period": 100000}
		},
		"namespaces": [
			{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"},
			{"type": "network"}, {"type": "cgroup"}
		],
		"maskedPaths": [
			"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
			"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
			"/sys/firmware"
		],
		"readonlyPaths": [
			"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"
		]
	}
}
EOF
}
# A terminal the runtime would have to allocate makes no sense without one on our side.
if [ $# -gt 0 ] || [ ! -t 0 ]; then
	sed -i 's/"terminal": *true/"terminal": false/' "$B/config.json"
fi

echo "demo: container $ID, bundle $B (exit the shell to stop it)" >&2
set +e
if [ $# -gt 0 ]; then
	printf '%s\n' "$*" | "$RT" run -b "$B" "$ID"
else
	"$RT" run -b "$B" "$ID"
fi
rc=$?
set -e
exit $rc
