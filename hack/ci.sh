#!/usr/bin/env bash
# ci.sh — the whole test suite, as root, on a Debian 12 machine that may be fresh: installs what
# is missing (make included, see hack/install-deps.sh), then `make ci`: vet, unit tests,
# integration tests on this host, the same tests in a pure cgroup v2 VM, and the systemd cgroup
# driver in VMs that boot systemd (cgroup v2 and v1). .ci/run calls this (~18 min on a fresh clone).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "ci: needs root: sudo $0" >&2; exit 1; }
command -v go >/dev/null || PATH=$PATH:/usr/local/go/bin
export HOME=${HOME:-/root} # the go tool's caches live there
t0=$(date +%s)
hack/install-deps.sh
echo "ci: $(go version), kernel $(uname -r), cgroup $([ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] && echo v2 || echo v1/hybrid)" >&2
make --no-print-directory ci
echo "ci: passed in $(($(date +%s) - t0)) s"
