package security

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nook-containers/nook/test/nooktest"
)

// TestKernelModule loads a kernel module from inside. busybox insmod calls
// init_module/finit_module; both must be refused with EPERM (no
// CAP_SYS_MODULE, and seccomp refuses them) before the kernel even looks at
// the file, and the host's module list must not change.
func TestKernelModule(t *testing.T) {
	variants(t, func(t *testing.T, e *env) {
		mods, _ := filepath.Glob("/lib/modules/*/kernel/drivers/net/dummy.ko*")
		mod := "/module.ko"
		if len(mods) > 0 && !strings.HasSuffix(mods[0], ".xz") && !strings.HasSuffix(mods[0], ".zst") {
			nooktest.CopyFile(mods[0], filepath.Join(e.rootfs, "module.ko"), 0o644)
		} else {
			os.WriteFile(filepath.Join(e.rootfs, "module.ko"), []byte("\x7fELF not really a module"), 0o644)
		}
		before := moduleNames(t)
		r := e.sh("insmod " + mod + " && echo OK:insmod; modprobe dummy && echo OK:modprobe; true").run()
		t.Logf("container: %s", r)
		if ranOK(r, "insmod") || ranOK(r, "modprobe") {
			t.Errorf("HOLE: a module was loaded from inside: %s", r)
		}
		if !strings.Contains(r.stderr, "Operation not permitted") {
			t.Errorf("insmod was not refused with EPERM: %s", r)
		}
		if after := moduleNames(t); after != before {
			t.Errorf("HOLE: the host's module list changed:\nbefore %s\nafter  %s", before, after)
		}
	})
}

func moduleNames(t *testing.T) string {
	// /proc/modules is absent on a kernel without loadable modules;
	// /sys/module lists built-in and loaded ones alike.
	entries, err := os.ReadDir("/sys/module")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return strings.Join(names, " ")
}

// hostDisk returns major:minor of a block device of the host: the one under
// / if it is a block device, else the first disk in /sys/block.
func hostDisk(t *testing.T) (string, string) {
	for _, l := range strings.Split(readFile(t, "/proc/self/mountinfo"), "\n") {
		f := strings.Fields(l)
		if len(f) > 4 && f[4] == "/" && !strings.HasPrefix(f[2], "0:") {
			mm := strings.SplitN(f[2], ":", 2)
			return mm[0], mm[1]
		}
	}
	disks, _ := filepath.Glob("/sys/block/*/dev")
	for _, d := range disks {
		if strings.Contains(d, "/loop") || strings.Contains(d, "/ram") {
			continue
		}
		mm := strings.SplitN(strings.TrimSpace(readFile(t, d)), ":", 2)
		return mm[0], mm[1]
	}
	return "8", "0" // no disk at all (a VM on 9p): still a device the cgroup must refuse
}

// TestHostDisk tries to reach the host's disk: there is no node for it in
// /dev, mount of a guessed node fails, and a node made with mknod (allowed
// with Docker's CAP_MKNOD: the device cgroup allows m) cannot be opened (the
// device cgroup refuses r and w). /dev/mem and /dev/kmsg likewise.
func TestHostDisk(t *testing.T) {
	variants(t, func(t *testing.T, e *env) {
		maj, min := hostDisk(t)
		t.Logf("host disk %s:%s", maj, min)
		r := e.writable().sh(`
ls /dev/vda /dev/sda /dev/nvme0n1 2>/dev/null && echo OK:disknode
mount /dev/vda /mnt 2>/dev/null && echo OK:mount-vda
mknod /disk b ` + maj + ` ` + min + ` && echo OK:mknod
[ -b /disk ] && { head -c 512 /disk > /dev/null && echo OK:read-disk; echo x 2>/dev/null > /disk && echo OK:write-disk; mount /disk /mnt && echo OK:mount-disk; }
mknod /mem c 1 1 && echo OK:mknod-mem && { head -c 16 /mem > /dev/null && echo OK:read-mem; }
mknod /kmsg c 1 11 && echo OK:mknod-kmsg && { echo pwned > /kmsg && echo OK:write-kmsg; }
head -c 1 /dev/kmsg > /dev/null 2>&1 && echo OK:read-devkmsg
ls /mnt
true
`).run()
		t.Logf("container: %s", r)
		for _, step := range []string{"disknode", "mount-vda", "read-disk", "write-disk", "mount-disk", "read-mem", "write-kmsg", "read-devkmsg"} {
			if ranOK(r, step) {
				t.Errorf("HOLE: %s worked from inside: %s", step, r)
			}
		}
		if ranOK(r, "mknod") && !strings.Contains(r.stderr, "Operation not permitted") {
			t.Errorf("opening the mknod'ed disk was not refused with EPERM: %s", r)
		}
		if e.spec.Process.Capabilities.Bounding[0] == "CAP_AUDIT_WRITE" && (ranOK(r, "mknod") || ranOK(r, "mknod-mem")) {
			t.Errorf("mknod worked without CAP_MKNOD: %s", r)
		}
	})
}

// TestHostname changes the hostname and domain name from inside: sethostname
// either fails (no CAP_SYS_ADMIN) or changes only the container's UTS
// namespace; the host's names stay.
func TestHostname(t *testing.T) {
	variants(t, func(t *testing.T, e *env) {
		host, _ := os.Hostname()
		domain := readFile(t, "/proc/sys/kernel/domainname")
		r := e.sh("hostname pwned && echo OK:hostname; domainname pwned 2>/dev/null && echo OK:domainname; hostname").run()
		t.Logf("container: %s", r)
		if ranOK(r, "hostname") {
			t.Errorf("sethostname worked without CAP_SYS_ADMIN: %s", r)
		}
		if now, _ := os.Hostname(); now != host {
			t.Errorf("HOLE: the host's hostname changed from %q to %q", host, now)
		}
		if now := readFile(t, "/proc/sys/kernel/domainname"); now != domain {
			t.Errorf("HOLE: the host's domain name changed from %q to %q", domain, now)
		}
	})
}

// TestClock sets the time from inside (date -s, adjtimex): refused with
// EPERM, and the host's clock did not jump.
func TestClock(t *testing.T) {
	variants(t, func(t *testing.T, e *env) {
		before := time.Now()
		r := e.sh("date -s '2001-01-01 00:00:00' 2>&1 | grep -q \"can't set\" || echo OK:date; adjtimex -f 100000 >/dev/null && echo OK:adjtimex; hwclock -w 2>/dev/null && echo OK:hwclock; true").run()
		after := time.Now()
		t.Logf("container: %s", r)
		for _, step := range []string{"date", "adjtimex", "hwclock"} {
			if ranOK(r, step) {
				t.Errorf("HOLE: %s worked from inside: %s", step, r)
			}
		}
		if !strings.Contains(r.stderr, "adjtimex: (null): Operation not permitted") && !strings.Contains(r.stderr, "Operation not permitted") {
			t.Errorf("adjtimex was not refused with EPERM: %s", r)
		}
		if after.Year() < 2020 || after.Sub(before) < 0 || after.Sub(before) > 2*time.Minute {
			t.Errorf("HOLE: the host's clock jumped: %v before, %v after", before, after)
		}
	})
}

// TestNewNamespaces tries to gain capabilities in a new user namespace (the
// usual first step to mount tricks) and to unshare a mount namespace:
// seccomp refuses both without CAP_SYS_ADMIN. Besides busybox unshare, the
// escape helper makes the raw calls from a single-threaded process:
// unshare(CLONE_NEWUSER) and clone(CLONE_NEWUSER) must answer EPERM,
// clone3 ENOSYS (the profile's answer, as the filter cannot read its flags).
func TestNewNamespaces(t *testing.T) {
	variants(t, func(t *testing.T, e *env) {
		r := e.sh("unshare -U -r sh -c 'echo OK:userns; grep CapEff /proc/self/status'; unshare -m sh -c 'echo OK:mountns'; unshare -n sh -c 'echo OK:netns'; /escape userns; true").run()
		t.Logf("container: %s", r)
		for _, step := range []string{"userns", "mountns", "netns", "unshare-userns", "clone-userns", "clone3-userns", "unshare-mountns"} {
			if ranOK(r, step) {
				t.Errorf("HOLE: %s worked from inside: %s", step, r)
			}
		}
		for step, want := range map[string]string{"unshare-userns": "EPERM", "clone-userns": "EPERM", "clone3-userns": "ENOSYS", "unshare-mountns": "EPERM"} {
			if got, ok := stepErrno(r.stdout, step); !ok || got != want {
				t.Errorf("%s: got %q (printed: %v), want %s", step, got, ok, want)
			}
		}
	})
}

// TestRawSocket opens a raw socket: refused with runc's three capabilities;
// with Docker's (CAP_NET_RAW) it works, but only in the container's own
// network namespace, which has nothing but lo.
func TestRawSocket(t *testing.T) {
	variants(t, func(t *testing.T, e *env) {
		r := e.sh("/escape raw; ip -o link").run()
		t.Logf("container: %s", r)
		docker := e.spec.Process.Capabilities.Bounding[0] != "CAP_AUDIT_WRITE"
		if !docker && ranOK(r, "raw-socket") {
			t.Errorf("HOLE: a raw socket opened without CAP_NET_RAW: %s", r)
		}
		for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
			if strings.Contains(l, ": <") && !strings.Contains(l, ": lo:") {
				t.Errorf("HOLE: the container sees a network interface other than lo: %s", l)
			}
		}
	})
}
