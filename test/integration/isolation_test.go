package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestArticleShell is the articles' demonstration, checked: PID 1, ps shows
// only the container, its own hostname, its own /tmp, a clean environment.
func TestArticleShell(t *testing.T) {
	e := newEnv(t)
	rep := e.probe()
	if rep.PID != 1 {
		t.Errorf("probe pid %d, want 1", rep.PID)
	}
	if len(rep.VisiblePIDs) != 1 || rep.VisiblePIDs[0] != 1 {
		t.Errorf("visible pids %v, want only [1]", rep.VisiblePIDs)
	}
	if rep.Hostname != "container" {
		t.Errorf("hostname %q, want container", rep.Hostname)
	}
	if host, _ := os.Hostname(); host == "container" {
		t.Errorf("the host's hostname changed")
	}
	want := []string{"PATH=/bin", "NOOK_TEST=1", "HOME=/root"}
	if strings.Join(rep.Env, " ") != strings.Join(want, " ") {
		t.Errorf("env %q, want %q", rep.Env, want)
	}
	if rep.Cwd != "/" || rep.UID != 0 || rep.GID != 0 {
		t.Errorf("cwd %q uid %d gid %d", rep.Cwd, rep.UID, rep.GID)
	}
	self, _ := os.Readlink("/proc/self/ns/pid")
	for _, ns := range []string{"pid", "mnt", "uts", "ipc", "net"} {
		host, _ := os.Readlink("/proc/self/ns/" + ns)
		if host == "" || strings.Contains(host, itoa(int(rep.Namespaces[ns]))) {
			t.Errorf("%s namespace is the host's (%s)", ns, host)
		}
	}
	_ = self
	for fd, target := range rep.FDs {
		if fd > 2 {
			t.Errorf("fd %d (%s) leaked into the container", fd, target)
		}
	}
	if m, ok := rep.Mount("/proc"); !ok || m.FSType != "proc" {
		t.Errorf("no proc at /proc: %+v", m)
	}

	// ps inside shows the container's processes only.
	e2 := newEnv(t).args("ps", "-o", "pid,comm")
	r := e2.run()
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) != 2 || !strings.Contains(lines[1], "1 ps") {
		t.Errorf("ps in the container: %s", r)
	}
}

// TestTmpIsOwn: a file made in the container's /tmp is not on the host.
func TestTmpIsOwn(t *testing.T) {
	e := newEnv(t).args("sh", "-c", "echo secret > /tmp/nook-it-file && cat /tmp/nook-it-file")
	if r := e.run(); r.code != 0 || strings.TrimSpace(r.stdout) != "secret" {
		t.Fatalf("%s", r)
	}
	for _, p := range []string{"/tmp/nook-it-file", filepath.Join(e.rootfs, "tmp/nook-it-file")} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s exists on the host", p)
		}
	}
}

// TestNoWayOut: `..` from the root stays at the root; the host's files are
// out of reach, even through the old root that pivot_root left (detached).
func TestNoWayOut(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "host-marker")
	os.WriteFile(marker, []byte("host"), 0o644)
	e := newEnv(t)
	os.WriteFile(filepath.Join(e.rootfs, "in-container"), []byte("yes"), 0o644)
	script := "cd ../../../../..; pwd; ls / | grep -c in-container; cat " + marker + " 2>&1; " +
		"cat /proc/1/root/../../.." + marker + " 2>&1; awk '$5 == \"/\"' /proc/self/mountinfo | wc -l"
	e.args("sh", "-c", script)
	r := e.run()
	out := r.stdout
	if strings.Contains(out, "host\n") || !strings.HasPrefix(out, "/\n1\n") {
		t.Errorf("escaped or lost the root: %s", r)
	}
	if !strings.HasSuffix(strings.TrimSpace(out), "1") {
		t.Errorf("more than one mount at / (old root not detached?): %s", r)
	}
}

// TestMaskedAndReadonlyPaths checks linux.maskedPaths and readonlyPaths.
func TestMaskedAndReadonlyPaths(t *testing.T) {
	e := newEnv(t).args("sh", "-c",
		"wc -c < /proc/keys; echo 1 > /proc/sys/kernel/domainname && echo WROTE; echo done")
	r := e.run()
	if !strings.HasPrefix(r.stdout, "0\n") || strings.Contains(r.stdout, "WROTE") {
		t.Errorf("masked /proc/keys or read-only /proc/sys not in force: %s", r)
	}
}

// TestReadonlyRoot: root.readonly makes / read-only; /tmp (tmpfs) stays writable.
func TestReadonlyRoot(t *testing.T) {
	e := newEnv(t).args("sh", "-c", "touch /x 2>/dev/null && echo ROOTRW; touch /tmp/x && echo TMPOK")
	e.spec.Root.Readonly = true
	r := e.run()
	if strings.Contains(r.stdout, "ROOTRW") || !strings.Contains(r.stdout, "TMPOK") {
		t.Errorf("%s", r)
	}
}

// TestSymlinkMountTarget: a symlink in the image pointing at a host path
// cannot redirect a mount onto the host.
func TestSymlinkMountTarget(t *testing.T) {
	// /evil -> /etc: the tmpfs must cover the rootfs's /etc, not the host's.
	e := newEnv(t).args("sh", "-c", "ls /etc | wc -l; grep -c ' /etc ' /proc/self/mountinfo")
	if err := os.Symlink("/etc", filepath.Join(e.rootfs, "evil")); err != nil {
		t.Fatal(err)
	}
	e.spec.Mounts = append(e.spec.Mounts, specsMount("/evil", "tmpfs", "tmpfs", "size=1m"))
	before, _ := os.ReadFile("/proc/self/mountinfo")
	r := e.run()
	if r.code != 0 || r.stdout != "0\n1\n" {
		t.Errorf("the mount did not land on the container's /etc: %s", r)
	}
	after, _ := os.ReadFile("/proc/self/mountinfo")
	if len(after) != len(before) {
		t.Errorf("the host's mount table changed:\n%s", after)
	}

	// A dangling symlink to a host path is refused, not followed.
	hostDir := filepath.Join(t.TempDir(), "target")
	e2 := newEnv(t)
	os.Symlink(hostDir, filepath.Join(e2.rootfs, "evil"))
	e2.spec.Mounts = append(e2.spec.Mounts, specsMount("/evil", "tmpfs", "tmpfs", "size=1m"))
	r = e2.run()
	if _, err := os.Stat(hostDir); err == nil {
		t.Errorf("mounting through a dangling symlink created %s on the host (%s)", hostDir, r)
	}
	if r.code == 0 {
		// Created inside the rootfs instead: acceptable, as long as the
		// host is untouched.
		t.Logf("dangling symlink target created inside the rootfs")
	}
}

// TestDevices checks the default /dev nodes and linux.devices.
func TestDevices(t *testing.T) {
	fm := os.FileMode(0o600)
	e := newEnv(t).args("sh", "-c", "ls -l /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty /dev/mydev; "+
		"readlink /dev/fd; readlink /dev/stdin; readlink /dev/ptmx; head -c 4 /dev/zero | wc -c")
	e.spec.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/mydev", Type: "c", Major: 1, Minor: 3, FileMode: &fm}}
	r := e.run()
	for _, want := range []string{"crw-rw-rw-", "/dev/null", "/dev/urandom", "crw-------", "/dev/mydev",
		"/proc/self/fd\n", "/proc/self/fd/0", "pts/ptmx", "\n4\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("missing %q in %s", want, r)
		}
	}
}

// TestUserNamespace maps container root to an unprivileged host uid.
func TestUserNamespace(t *testing.T) {
	e := newEnv(t).args("sh", "-c", "id -u; cat /proc/self/uid_map")
	e.spec.Linux.Namespaces = append(e.spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	e.spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	e.spec.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	// sysfs needs a user namespace that owns the net namespace: it has one.
	// The namespace's root is host uid 100000: it must be able to reach
	// the rootfs (t.TempDir makes 0700 dirs).
	for _, d := range []string{filepath.Dir(e.dir), e.dir, e.bundle} {
		os.Chmod(d, 0o755)
	}
	if err := os.Chown(e.rootfs, 100000, 100000); err != nil {
		t.Fatal(err)
	}
	r := e.run()
	f := strings.Fields(r.stdout)
	if r.code != 0 || len(f) < 4 || f[0] != "0" || f[1] != "0" || f[2] != "100000" || f[3] != "65536" {
		t.Errorf("%s", r)
	}
}

// TestJoinNamespace joins the network and uts namespaces of another
// container by path.
func TestJoinNamespace(t *testing.T) {
	a := newEnv(t).args("sleep", "300")
	a.writeSpec()
	a.mustRT("run", "-d", a.id)
	pid := itoa(a.state().Pid)
	b := newEnv(t)
	for i, ns := range b.spec.Linux.Namespaces {
		if ns.Type == specs.NetworkNamespace || ns.Type == specs.UTSNamespace {
			b.spec.Linux.Namespaces[i].Path = "/proc/" + pid + "/ns/" + map[specs.LinuxNamespaceType]string{
				specs.NetworkNamespace: "net", specs.UTSNamespace: "uts"}[ns.Type]
		}
	}
	b.spec.Hostname = ""
	rep := b.probe()
	for _, ns := range []string{"net", "uts"} {
		link, _ := os.Readlink("/proc/" + pid + "/ns/" + ns)
		if !strings.Contains(link, "["+itoa(int(rep.Namespaces[ns]))+"]") {
			t.Errorf("%s namespace %d, want %s", ns, rep.Namespaces[ns], link)
		}
	}
	if rep.Hostname != "container" {
		t.Errorf("hostname %q, want the joined uts namespace's", rep.Hostname)
	}
}

// TestJoinUserAndTimeNamespace joins another container's user, network and
// time namespaces by path, with new pid, mount, uts and ipc namespaces of
// its own. The kernel lets only a single-threaded process join a user or
// time namespace: this goes through nsenter's C constructor.
func TestJoinUserAndTimeNamespace(t *testing.T) {
	userns := func(e *env) {
		for _, d := range []string{filepath.Dir(e.dir), e.dir, e.bundle} {
			os.Chmod(d, 0o755)
		}
		if err := os.Chown(e.rootfs, 100000, 100000); err != nil {
			t.Fatal(err)
		}
	}
	a := newEnv(t).args("sleep", "300")
	userns(a)
	a.spec.Linux.Namespaces = append(a.spec.Linux.Namespaces,
		specs.LinuxNamespace{Type: specs.UserNamespace}, specs.LinuxNamespace{Type: specs.TimeNamespace})
	a.spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	a.spec.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	a.spec.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"boottime": {Secs: 86400 * 365}}
	a.writeSpec()
	a.mustRT("run", "-d", a.id)
	pid := itoa(a.state().Pid)

	b := newEnv(t)
	userns(b)
	paths := map[specs.LinuxNamespaceType]string{specs.UserNamespace: "user", specs.NetworkNamespace: "net", specs.TimeNamespace: "time"}
	var nss []specs.LinuxNamespace
	for _, ns := range b.spec.Linux.Namespaces {
		if _, joined := paths[ns.Type]; !joined {
			nss = append(nss, ns)
		}
	}
	for typ, name := range paths {
		nss = append(nss, specs.LinuxNamespace{Type: typ, Path: "/proc/" + pid + "/ns/" + name})
	}
	b.spec.Linux.Namespaces = nss
	rep := b.probe()
	for _, ns := range []string{"user", "net", "time"} {
		link, _ := os.Readlink("/proc/" + pid + "/ns/" + ns)
		if !strings.Contains(link, "["+itoa(int(rep.Namespaces[ns]))+"]") {
			t.Errorf("%s namespace %d, want %s", ns, rep.Namespaces[ns], link)
		}
	}
	if rep.PID != 1 || rep.UID != 0 {
		t.Errorf("pid %d uid %d, want 1 and 0 (root of the joined user namespace)", rep.PID, rep.UID)
	}
	if b.rt("list").code != 0 {
		t.Errorf("list failed")
	}
}
