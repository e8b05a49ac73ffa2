package security

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nook-containers/nook/test/nooktest"
)

// hostMarker puts a file at the host's / for the length of the test: a
// container that can see it has escaped.
func hostMarker(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("nook-sec-host-marker-%d", os.Getpid())
	path := "/" + name
	if err := os.WriteFile(path, []byte("host\n"), 0o644); err != nil {
		t.Skipf("cannot write the host marker %s: %v", path, err)
	}
	t.Cleanup(func() { os.Remove(path) })
	return name
}

// checkInside fails the test if out shows the host marker, or if it lacks
// the container's marker (when wantContainer).
func checkInside(t *testing.T, r result, marker string, wantContainer bool) {
	t.Helper()
	if strings.Contains(r.stdout, marker) || strings.Contains(r.stdout, "host\n") {
		t.Errorf("HOLE: the container reached the host's root: %s", r)
	}
	if wantContainer && !strings.Contains(r.stdout, "CONTAINER_MARKER") {
		t.Errorf("the container's root was not what the attack saw: %s", r)
	}
}

// TestDotDot walks .. from / and through /proc/self/root, /proc/1/root and
// /proc/1/cwd: every path ends at the container's root.
func TestDotDot(t *testing.T) {
	variants(t, func(t *testing.T, e *env) {
		m := hostMarker(t)
		r := e.sh(`
cd /../../../../..; pwd -P; ls
ls /../../../../../
ls /proc/self/root/../../..
ls /proc/1/root/
ls /proc/1/cwd/../../..
cat /proc/1/root/../../../` + m + ` 2>/dev/null
cat /../../../` + m + ` 2>/dev/null
true`).run()
		t.Logf("container: %s", r)
		checkInside(t, r, m, true)
	})
}

// TestChrootEscape is the classic chroot escape, which needs
// CAP_SYS_CHROOT (Docker's set has it): chroot into a subdirectory without
// entering it, walk .. and chroot there; also through a directory fd kept
// from before the chroot, and with busybox (a jail with its own busybox,
// cd ../../.. and chroot . inside it). nook uses pivot_root and detaches
// the old root, so the walk ends at the container's root.
func TestChrootEscape(t *testing.T) {
	variants(t, func(t *testing.T, e *env) {
		m := hostMarker(t)
		jail := filepath.Join(e.rootfs, "jail/bin")
		os.MkdirAll(jail, 0o755)
		nooktest.CopyFile(busybox, filepath.Join(jail, "busybox"), 0o755)
		os.WriteFile(filepath.Join(e.rootfs, "jail/JAIL_MARKER"), nil, 0o644)
		r := e.writable().sh(`
/escape chroot
/escape fdchroot
chroot /jail /bin/busybox sh -c 'cd ../../../..; /bin/busybox chroot . /bin/busybox ls / ../../..'
true`).run()
		t.Logf("container: %s", r)
		checkInside(t, r, m, ranOK(r, "chroot-dot"))
		docker := e.spec.Process.Capabilities.Bounding[0] != "CAP_AUDIT_WRITE"
		if !docker && ranOK(r, "chroot-x") {
			t.Errorf("chroot worked without CAP_SYS_CHROOT: %s", r)
		}
	})
}

// TestSymlinkMountTarget plants symlinks to host paths in the image and uses
// them as mount destinations: an absolute one (/evil -> /etc) and a
// relative one that climbs (/evil2 -> ../../../../../../etc). The host's
// /etc must not get a mount.
func TestSymlinkMountTarget(t *testing.T) {
	e := newEnv(t)
	os.Symlink("/etc", filepath.Join(e.rootfs, "evil"))
	os.Symlink("../../../../../../../etc", filepath.Join(e.rootfs, "evil2"))
	e.spec.Mounts = append(e.spec.Mounts,
		specs.Mount{Destination: "/evil", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}},
		specs.Mount{Destination: "/evil2/sub", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}})
	before := hostMountsAt(t, "/etc")
	r := e.sh("ls /etc; true").run()
	t.Logf("container: %s", r)
	if after := hostMountsAt(t, "/etc"); after != before {
		t.Errorf("HOLE: a mount landed on the host's /etc: %d mounts there before, %d after", before, after)
	}
	if _, err := os.Stat("/etc/sub"); err == nil {
		t.Errorf("HOLE: /etc/sub was created on the host")
	}
}

func hostMountsAt(t *testing.T, prefix string) int {
	n := 0
	for _, l := range strings.Split(readFile(t, "/proc/1/mountinfo"), "\n") {
		if f := strings.Fields(l); len(f) > 4 && (f[4] == prefix || strings.HasPrefix(f[4], prefix+"/")) {
			n++
		}
	}
	return n
}

// TestSymlinkCwd sets process.cwd to a symlink in the image that points at a
// host directory: the process must not end up in the host directory.
func TestSymlinkCwd(t *testing.T) {
	hostDir := t.TempDir()
	os.WriteFile(filepath.Join(hostDir, "HOSTDIR_MARKER"), []byte("host\n"), 0o644)
	for name, target := range map[string]string{"abs": hostDir, "rel": "../../../../../../.." + hostDir} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			os.Symlink(target, filepath.Join(e.rootfs, "evil"))
			e.spec.Process.Cwd = "/evil"
			r := e.sh("pwd -P; ls; cat HOSTDIR_MARKER; true").run()
			t.Logf("container: %s", r)
			if strings.Contains(r.stdout, "HOSTDIR_MARKER") || strings.Contains(r.stdout, "host\n") {
				t.Errorf("HOLE: the process started in the host directory %s: %s", hostDir, r)
			}
		})
	}
}
