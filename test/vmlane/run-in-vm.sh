#!/bin/bash
# run-in-vm.sh 'shell command' | script-file [args...]
# (nook's copy of ../shared/vmlane/run-in-vm.sh; changes: kernel choice needs /boot and /lib/modules,
# per-process temp names for the cached kernel and initrd so parallel first runs don't collide)
# Boots a throw-away QEMU VM (Debian 6.1 kernel, pure cgroup v2) whose root is the host's
# root exported read-only over 9p with a tmpfs overlay per top-level dir; runs the command as
# root there, streams its stdout/stderr, exits with its exit code.
# Env: VMLANE_MEM (2G) VMLANE_SMP (2) VMLANE_TIMEOUT (900 s) VMLANE_SHARE (rw host dir, same
# path in guest; default /tmp/vmlane) VMLANE_ENV ('NAME ...' host vars to export) VMLANE_MODULES (extra modules to modprobe before the
# command) VMLANE_APPEND (extra kernel args) VMLANE_ACCEL (tcg) VMLANE_KEEP=1 (keep run dir)
# VMLANE_DIR (cache and run dirs; /tmp/vmlane) VMLANE_KVER (kernel version; newest in /lib/modules).
# VMLANE_INIT=systemd boots systemd as PID 1 (with D-Bus) and runs the command as a service of it;
# then VMLANE_CGROUP=hybrid gives v1 controllers (systemd.unified_cgroup_hierarchy=0) instead of v2.
# Needs: apt-get install -y qemu-system-x86 linux-image-amd64 busybox-static
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 'command' | script [args...]" >&2; exit 2; }
D=${VMLANE_DIR:-/tmp/vmlane}
# newest kernel that has both an image in /boot and modules (the running host kernel may have only
# one of the two: its /lib/modules can exist without a /boot/vmlinuz)
KVER=${VMLANE_KVER:-$(for m in /lib/modules/*/kernel; do k=${m%/kernel}; k=${k##*/}
  [ -r "/boot/vmlinuz-$k" ] && echo "$k"; done | sort -V | tail -n 1)}
VMLINUZ=/boot/vmlinuz-$KVER; MODS=/lib/modules/$KVER/kernel
[ -n "$KVER" ] && [ -r "$VMLINUZ" ] || { echo "run-in-vm: needs a Debian kernel: apt-get install -y linux-image-amd64 qemu-system-x86 busybox-static" >&2; exit 125; }
SHARE=${VMLANE_SHARE:-$D}; INITRD=$D/.cache/initrd.cpio.gz; KERNEL=${VMLANE_KERNEL:-$D/.cache/vmlinux}
mkdir -p "$D/.cache" "$D/.runs"
# uncompressed PVH ELF kernel: qemu boots it directly, skipping xz decompression under TCG (~3-4 s)
if [ -z "${VMLANE_KERNEL:-}" ] && [ ! -s "$KERNEL" ]; then
  off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$VMLINUZ" | head -1 | cut -d: -f1)
  tail -c +$((off+1)) "$VMLINUZ" | xz -dc 2>/dev/null > "$KERNEL.$$" || true; mv "$KERNEL.$$" "$KERNEL"; fi

# ---- initramfs (built once; rebuilt when this script changes) ----
if [ ! -s "$INITRD" ] || [ "$0" -nt "$INITRD" ]; then
  T=$(mktemp -d "$D/.cache/ird.XXXX"); mkdir -p "$T"/{bin,proc,sys,dev,host,newroot,mods}
  cp /usr/bin/busybox "$T/bin/busybox"; for a in $(busybox --list); do [ $a = busybox ] || ln -s busybox "$T/bin/$a"; done
  for m in drivers/virtio/{virtio_ring,virtio,virtio_pci_legacy_dev,virtio_pci_modern_dev,virtio_pci} \
           fs/netfs/netfs fs/fscache/fscache net/9p/9pnet net/9p/9pnet_virtio fs/9p/9p fs/overlayfs/overlay; do
    cp "$MODS/$m.ko" "$T/mods/"; echo "${m##*/}" >> "$T/mods/order"; done
  cat > "$T/init" <<'EOF'
#!/bin/busybox sh
export PATH=/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $(cat /mods/order); do insmod /mods/$m.ko || echo "vmlane: insmod $m failed"; done
o=trans=virtio,version=9p2000.L,msize=262144
mount -t 9p -o $o,ro,cache=loose hostroot /host || { echo "vmlane: 9p root failed"; poweroff -f; }
R=/newroot; mount -t tmpfs -o mode=755 vmroot $R; mkdir -p $R/.vmlane/rw $R/.vmlane/ctl $R/host
for p in /host/* /host/.[!.]*; do n=${p#/host/}
  if [ -L "$p" ]; then cp -a "$p" "$R/$n"
  elif [ -d "$p" ]; then mkdir -p "$R/$n"; case $n in proc|sys|dev|run|tmp|lost+found|.vmlane) continue;; esac
    u=$R/.vmlane/rw/$n; mkdir -p $u/u $u/w
    mount -t overlay "ovl-$n" -o "lowerdir=$p,upperdir=$u/u,workdir=$u/w" "$R/$n"; fi
done
cp -a /bin $R/.vmlane/bin
mount -t 9p -o $o ctl $R/.vmlane/ctl
mount --move /host $R/host; mount --move /dev $R/dev; mount --move /sys $R/sys; mount --move /proc $R/proc
exec switch_root $R /.vmlane/bin/sh /.vmlane/ctl/init2
EOF
  chmod +x "$T/init"
  (cd "$T" && find . | cpio -o -H newc --quiet | gzip -1) > "$INITRD.$$" && mv "$INITRD.$$" "$INITRD"; rm -rf "$T"
fi

# ---- per-run control dir (9p tag ctl): stage-2 init, command, env, rc ----
RUN=$(mktemp -d "$D/.runs/XXXXXX"); [ -n "${VMLANE_KEEP:-}" ] || trap 'rm -rf "$RUN"' EXIT
if [ -f "$1" ]; then cp "$1" "$RUN/cmd"; chmod +x "$RUN/cmd"; shift; printf '%q ' /.vmlane/ctl/cmd "$@" > "$RUN/cmdline"
else printf '%s' "$*" > "$RUN/cmd"; echo "/bin/sh /.vmlane/ctl/cmd" > "$RUN/cmdline"; fi
{ printf 'VMLANE_CWD=%q\nVMLANE_SHARE=%q\nVMLANE_MODULES=%q\nVMLANE_INIT=%q\n' "$PWD" "$SHARE" "${VMLANE_MODULES:-}" "${VMLANE_INIT:-sh}"
  for v in ${VMLANE_ENV:-}; do printf 'export %s=%q\n' "$v" "${!v-}"; done; } > "$RUN/env"
cat > "$RUN/init2" <<'EOF'
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/.vmlane/bin HOME=/root TERM=dumb LANG=C.UTF-8
B=/.vmlane/bin/busybox; . /.vmlane/ctl/env
$B mount -t tmpfs -o mode=1777 tmp /tmp; $B mount -t tmpfs -o mode=755 run /run
$B mkdir -p /dev/pts /dev/shm /dev/mqueue /run/lock
$B mount -t devpts -o ptmxmode=0666,gid=5,mode=620 devpts /dev/pts; $B mount -t tmpfs -o mode=1777 shm /dev/shm
$B mount -t mqueue mqueue /dev/mqueue
for l in fd:/proc/self/fd stdin:/proc/self/fd/0 stdout:/proc/self/fd/1 stderr:/proc/self/fd/2; do $B ln -sfn ${l#*:} /dev/${l%%:*}; done
if [ "$VMLANE_INIT" != systemd ]; then  # systemd mounts its own
  $B mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
  for c in $($B cat /sys/fs/cgroup/cgroup.controllers); do echo +$c > /sys/fs/cgroup/cgroup.subtree_control; done
fi
$B mount -t bpf bpf /sys/fs/bpf 2>/dev/null
$B mkdir -p "$VMLANE_SHARE"; $B mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 share "$VMLANE_SHARE"
$B hostname vmlane; $B ip link set lo up
# wall clock := host clock via the mtime qemu gives a new file on the 9p share (the RTC is only 1 s-granular)
# (busybox sh prefers its own applets, hence the explicit coreutils paths)
$B touch /.vmlane/ctl/.clk; read u0 x </proc/uptime; m=$(/usr/bin/stat -c %.9Y /.vmlane/ctl/.clk)
/usr/bin/date -s @$($B awk -v m=$m -v u=$u0 '{printf "%.3f", m + $1 - u}' /proc/uptime) >/dev/null
for m in $VMLANE_MODULES; do modprobe $m || echo "vmlane: modprobe $m failed" >&2; done
$B stty -F /dev/ttyS1 raw -echo; $B stty -F /dev/ttyS2 raw -echo
if [ "$VMLANE_INIT" = systemd ]; then
  $B mkdir -p /run/systemd/system; $B cp /.vmlane/ctl/units/* /run/systemd/system/
  exec /lib/systemd/systemd --unit=vmlane.target --log-level=warning
fi
. /.vmlane/ctl/run
EOF
# the command itself, its output on the serial ports, then power off: sourced by init2, or run
# by vmlane.service when VMLANE_INIT=systemd
cat > "$RUN/run" <<'EOF'
B=/.vmlane/bin/busybox; . /.vmlane/ctl/env
$B mkfifo /run/.o /run/.e; $B cat /run/.o >/dev/ttyS1 & p1=$!; $B cat /run/.e >/dev/ttyS2 & p2=$!
cd "$VMLANE_CWD" 2>/dev/null || cd /
( eval exec $($B cat /.vmlane/ctl/cmdline) ) </dev/null >/run/.o 2>/run/.e; echo $? > /.vmlane/ctl/rc
for i in $($B seq 50); do $B kill -0 $p1 $p2 2>/dev/null || break; $B usleep 100000; done  # drain (max 5 s)
$B sync; $B poweroff -f
EOF
if [ "${VMLANE_INIT:-sh}" = systemd ]; then
  # systemd as PID 1, with the system bus, for what drives cgroups through systemd: a target of
  # its own starts D-Bus and the command, and little else of a Debian boot
  mkdir -p "$RUN/units"
  cat > "$RUN/units/vmlane.target" <<'EOF'
[Unit]
Description=vmlane command under systemd
Requires=vmlane.service dbus.socket
EOF
  cat > "$RUN/units/vmlane.service" <<'EOF'
[Unit]
Description=vmlane command
Requires=dbus.socket
After=dbus.socket
[Service]
Type=oneshot
ExecStart=/.vmlane/bin/sh /.vmlane/ctl/run
StandardInput=null
StandardOutput=journal+console
Delegate=yes
Environment=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/.vmlane/bin HOME=/root TERM=dumb LANG=C.UTF-8
EOF
fi

A="console=ttyS0 quiet loglevel=4 panic=-1 mitigations=off ${VMLANE_APPEND:-}"
case "${VMLANE_CGROUP:-v2}" in
v2) A="$A cgroup_no_v1=all" ;;
hybrid) [ "${VMLANE_INIT:-sh}" = systemd ] || { echo "run-in-vm: VMLANE_CGROUP=hybrid needs VMLANE_INIT=systemd" >&2; exit 2; }
  A="$A systemd.unified_cgroup_hierarchy=0" ;;
*) echo "run-in-vm: VMLANE_CGROUP must be v2 or hybrid" >&2; exit 2 ;;
esac
set +e
timeout "${VMLANE_TIMEOUT:-900}" qemu-system-x86_64 -accel "${VMLANE_ACCEL:-tcg}" -cpu max \
  -m "${VMLANE_MEM:-2G}" -smp "${VMLANE_SMP:-2}" -nodefaults -no-user-config -display none -no-reboot \
  -kernel "$KERNEL" -initrd "$INITRD" -append "$A" \
  -serial "file:$RUN/console.log" -chardev stdio,id=so,signal=off -serial chardev:so \
  -chardev file,id=se,path=/proc/self/fd/2,append=on -serial chardev:se \
  -fsdev local,id=r,path=/,security_model=passthrough,readonly=on,multidevs=remap \
  -device virtio-9p-pci,fsdev=r,mount_tag=hostroot \
  -fsdev local,id=c,path="$RUN",security_model=passthrough -device virtio-9p-pci,fsdev=c,mount_tag=ctl \
  -fsdev local,id=s,path="$SHARE",security_model=passthrough,multidevs=remap \
  -device virtio-9p-pci,fsdev=s,mount_tag=share </dev/null
q=$?
if [ -s "$RUN/rc" ]; then exit "$(cat "$RUN/rc")"; fi
echo "run-in-vm: no exit code from guest (qemu rc=$q); console log:" >&2; tail -n 150 "$RUN/console.log" >&2; exit 125
