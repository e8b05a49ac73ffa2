#!/usr/bin/env bash
# demo.sh [command...] — an interactive busybox shell in a nook container, on your terminal.
# Needs root.
#
# Installs busybox-static and make if missing, builds bin/nook, and runs
#   bin/nook run -it --rm --hostname nook --memory 256m --cpus 0.5 --pids-limit 100 nook.local/busybox sh
# The image nook.local/busybox is built offline from the host's busybox-static on first use.
# With arguments, they are fed to the container's sh on stdin instead of your keyboard:
#   hack/demo.sh 'hostname; cat /proc/self/cgroup; ps'
# The container is removed when the shell exits (--rm), also when something fails.
# Env: NOOK_ROOT (default /var/lib/nook) is where nook keeps images and containers;
# NOOK_DEMO_RUNTIME=runc runs the same demo with nook's engine driving runc (--runtime).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "demo: needs root: sudo $0" >&2; exit 1; }
command -v go >/dev/null || PATH=$PATH:/usr/local/go/bin

hack/install-deps.sh demo
make --no-print-directory -s build
args=(--root "${NOOK_ROOT:-/var/lib/nook}")
if [ -n "${NOOK_DEMO_RUNTIME:-}" ]; then
	args+=(--runtime "$(command -v "$NOOK_DEMO_RUNTIME")")
fi
run=(run --rm --hostname nook --memory 256m --cpus 0.5 --pids-limit 100)
if [ $# -gt 0 ]; then
	printf '%s\n' "$@" | exec bin/nook "${args[@]}" "${run[@]}" -i nook.local/busybox sh
fi
if [ -t 0 ]; then
	echo "demo: a shell in a container: PID 1, hostname nook, its own /proc and /tmp; 'exit' leaves it" >&2
	exec bin/nook "${args[@]}" "${run[@]}" -it nook.local/busybox sh
fi
exec bin/nook "${args[@]}" "${run[@]}" -i nook.local/busybox sh
