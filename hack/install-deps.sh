#!/usr/bin/env bash
# install-deps.sh [all|demo] — install the Debian 12 packages nook's build, tests and demo need.
#
#   all  (default) everything `make ci` uses: the VM lanes (qemu, a Debian kernel, busybox; systemd
#        and dbus, which test-systemd's VMs boot from this machine's root),
#        the peers we compare with (runc, crun, hyperfine) and the tools the tests call.
#   demo only what `hack/demo.sh` needs: busybox-static (the container's userland) and make.
#
# Idempotent and quiet: one dpkg-query when everything is present (well under a second),
# otherwise one `apt-get update` and one `apt-get install`, with apt's output kept in a log
# that is shown only on failure. Installing needs root; checking does not.
#
# About linux-image-amd64: it only provides a kernel for the VM lane (test/vmlane/run-in-vm.sh
# boots /boot/vmlinuz-* under qemu). It does not change how this machine boots: the hosts we run
# on have no boot loader package (grub, systemd-boot), so nothing points at the new kernel. We
# also set INITRD=No, which makes /etc/kernel/postinst.d/initramfs-tools skip building an
# initramfs for it — the VM lane builds its own, and on a fresh machine that saves ~30 s.
set -euo pipefail

case "${1:-all}" in
all)
	pkgs=(busybox-static qemu-system-x86 linux-image-amd64 runc crun hyperfine uidmap iproute2
		procps make xz-utils cpio gcc libc6-dev containerd podman docker.io libseccomp-dev docker-registry nftables debootstrap
		systemd dbus)
	;;
demo) pkgs=(busybox-static make gcc libc6-dev libseccomp-dev) ;;
-h | --help)
	sed -n '2,7s/^# \{0,1\}//p' "$0"
	exit 0
	;;
*)
	echo "usage: $0 [all|demo]" >&2
	exit 2
	;;
esac

# dpkg-query exits non-zero when it knows nothing of a package; its stdout still lists the rest.
installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${pkgs[@]}" 2>/dev/null || true)
missing=()
for p in "${pkgs[@]}"; do
	grep -qx "$p ii " <<<"$installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing ${missing[*]}; run as root: sudo $0 ${1:-all}" >&2
	exit 1
fi

echo "install-deps: installing ${missing[*]}" >&2
log=$(mktemp /tmp/nook-install-deps.XXXXXX.log)
export DEBIAN_FRONTEND=noninteractive INITRD=No
# The daemons among these (containerd, dockerd) are for the tests to start privately: keep the
# packages from starting system services (docker's would add a bridge and firewall rules to the
# host). A policy-rc.d that is already there (as on this kind of machine) is left alone.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\n# nook install-deps: no service starts while it installs\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
# Wait for another apt/dpkg (e.g. unattended-upgrades) instead of failing on its lock.
apt=(apt-get -q -y -o DPkg::Lock::Timeout=600)
if ! { "${apt[@]}" update && "${apt[@]}" install --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
	tail -n 40 "$log" >&2
	echo "install-deps: apt-get failed; full log in $log" >&2
	exit 1
fi
rm -f "$log"
