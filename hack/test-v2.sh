#!/usr/bin/env bash
# test-v2.sh [LIST] — runs the compiled tests listed in LIST (default bin/vmtests.list) in one
# VM boot (hack/vm-tests.sh inside test/vmlane/run-in-vm.sh; pure cgroup v2 unless the VMLANE_*
# variables say otherwise). Called by `make test-v2` and `make test-systemd`.
#
# The VM sees the host's filesystem read-only, except /tmp: it has a /tmp of its own, and only
# the share dir (/tmp/vmlane) is the host's. A checkout under /tmp (CI may clone there) is
# invisible in the VM, so its bin/ and package dirs are staged into the share first.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
list=${1:-bin/vmtests.list}
share=${VMLANE_SHARE:-${VMLANE_DIR:-/tmp/vmlane}}
stage=""
case "$repo/" in
"$share"/*) ;;
/tmp/*)
	mkdir -p "$share"
	stage=$(mktemp -d "$share/stage.XXXXXX")
	chmod 755 "$stage" # the rootless tests run the runtime as an unprivileged user
	trap 'rm -rf "$stage"' EXIT
	cp -a bin "$stage/bin"
	while read -r _ dir _; do mkdir -p "$stage/$dir"; done <"$list"
	repo=$stage
	echo "test-v2: $PWD is not visible in the VM; staged the test binaries in $stage" >&2
	;;
esac
test/vmlane/run-in-vm.sh hack/vm-tests.sh "$repo" "$repo/$list"
