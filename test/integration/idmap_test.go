package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// idmapSource makes dir/name, a host directory owned by uid:gid with a file
// "file" in it owned the same way.
func idmapSource(t *testing.T, dir, name string, uid int) string {
	t.Helper()
	src := filepath.Join(dir, name)
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "file"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{src, filepath.Join(src, "file")} {
		if err := os.Chown(p, uid, uid); err != nil {
			t.Fatal(err)
		}
	}
	return src
}

func hostOwner(t *testing.T, path string) (uint32, uint32) {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Uid, st.Gid
}

// needIdmap skips the test when dir's filesystem cannot be idmapped on this
// kernel (tmpfs learned it in Linux 6.3; the cgroup v2 VM runs 6.1 with a
// tmpfs /tmp): it tries what the runtime does, open_tree + mount_setattr
// with the user namespace of a short-lived child.
func needIdmap(t *testing.T, dir string) {
	t.Helper()
	cmd := exec.Command("/bin/sleep", "10")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 1000, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 1000, Size: 1}},
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	userns, err := os.Open(filepath.Join("/proc", itoa(cmd.Process.Pid), "ns", "user"))
	if err != nil {
		t.Fatal(err)
	}
	defer userns.Close()
	tree, err := unix.OpenTree(unix.AT_FDCWD, dir, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(tree)
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(userns.Fd())}
	if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH, &attr); err != nil {
		var st unix.Statfs_t
		unix.Statfs(dir, &st)
		var u unix.Utsname
		unix.Uname(&u)
		t.Skipf("%s (filesystem magic %#x) cannot be idmapped on Linux %s: %v", dir, st.Type, unix.ByteSliceToString(u.Release[:]), err)
	}
}

// oneToOne maps container id c to host id h, one id.
func oneToOne(c, h uint32) []specs.LinuxIDMapping {
	return []specs.LinuxIDMapping{{ContainerID: c, HostID: h, Size: 1}}
}

// noUsernsHelpers fails if a user namespace helper of the runtime (the
// stopped child that holds an idmapping) outlived it.
func noUsernsHelpers(t *testing.T) {
	t.Helper()
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		cmd, _ := os.ReadFile(p)
		if strings.HasPrefix(string(cmd), "nook-runtime-userns") {
			t.Errorf("idmapping helper %s left behind", filepath.Dir(p))
		}
	}
}

// TestIdmapMount: files owned by host uid/gid 1000, bind-mounted with the
// mount mapping 1000 → 0, are root's inside; a file the container's root
// makes there is 1000's on the host. The container has no
// CAP_DAC_OVERRIDE: it can write only because the directory is its own.
func TestIdmapMount(t *testing.T) {
	e := newEnv(t)
	needIdmap(t, e.dir)
	src := idmapSource(t, e.dir, "data", 1000)
	m := specsMount("/data", "bind", src, "bind", "idmap")
	m.UIDMappings, m.GIDMappings = oneToOne(1000, 0), oneToOne(1000, 0)
	e.spec.Mounts = append(e.spec.Mounts, m)
	e.args("sh", "-c", "stat -c %u:%g /data /data/file && echo new > /data/new && stat -c %u:%g /data/new")
	r := e.run()
	if r.code != 0 || r.stdout != "0:0\n0:0\n0:0\n" {
		t.Fatalf("%s", r)
	}
	if uid, gid := hostOwner(t, filepath.Join(src, "new")); uid != 1000 || gid != 1000 {
		t.Errorf("file made through the idmapped mount is %d:%d on the host, want 1000:1000", uid, gid)
	}
	if uid, _ := hostOwner(t, filepath.Join(src, "file")); uid != 1000 {
		t.Errorf("source file's owner changed on the host to %d", uid)
	}
	// The same directory without idmap: 1000's, and not writable.
	e2 := newEnv(t).args("sh", "-c", "stat -c %u:%g /data/file; echo x > /data/other 2>/dev/null && echo WROTE; true")
	e2.spec.Mounts = append(e2.spec.Mounts, specsMount("/data", "bind", src, "bind"))
	if r := e2.run(); r.stdout != "1000:1000\n" {
		t.Errorf("plain bind: %s", r)
	}
	noUsernsHelpers(t)
}

// TestIdmapUserNamespace: in a container with a user namespace, an
// "idmap" mount without mappings of its own gets the container's, as
// Kubernetes' user namespaces use it: host root's files are the container
// root's, where a plain bind shows them as the overflow id.
func TestIdmapUserNamespace(t *testing.T) {
	e := newEnv(t)
	needIdmap(t, e.dir)
	src := idmapSource(t, e.dir, "data", 0)
	for _, d := range []string{filepath.Dir(e.dir), e.dir, e.bundle} {
		os.Chmod(d, 0o755)
	}
	if err := os.Chown(e.rootfs, 100000, 100000); err != nil {
		t.Fatal(err)
	}
	e.spec.Linux.Namespaces = append(e.spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	e.spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	e.spec.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	// Explicit mappings, here as the container's: host 1000 is the
	// container's 1000 (kernel id 101000).
	src2 := idmapSource(t, e.dir, "data2", 1000)
	m2 := specsMount("/data2", "bind", src2, "rbind", "ridmap")
	m2.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	m2.GIDMappings = m2.UIDMappings
	e.spec.Mounts = append(e.spec.Mounts,
		specsMount("/data", "bind", src, "bind", "idmap"), m2,
		specsMount("/plain", "bind", src, "bind"))
	e.args("sh", "-c", "id -u; stat -c %u:%g /data/file /data2/file /plain/file && echo new > /data/new && stat -c %u:%g /data/new")
	r := e.run()
	if r.code != 0 || r.stdout != "0\n0:0\n1000:1000\n65534:65534\n0:0\n" {
		t.Fatalf("%s", r)
	}
	if uid, gid := hostOwner(t, filepath.Join(src, "new")); uid != 0 || gid != 0 {
		t.Errorf("file made through the idmapped mount is %d:%d on the host, want 0:0", uid, gid)
	}
	noUsernsHelpers(t)
}

// TestIdmapRecursive: "ridmap" on an rbind idmaps the submounts too;
// "idmap" on an rbind only the top mount.
func TestIdmapRecursive(t *testing.T) {
	e := newEnv(t)
	needIdmap(t, e.dir)
	src := idmapSource(t, e.dir, "data", 1000)
	sub := idmapSource(t, e.dir, "sub", 1000)
	if err := os.Mkdir(filepath.Join(src, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "--bind", sub, filepath.Join(src, "sub")).CombinedOutput(); err != nil {
		t.Fatalf("mounting the submount: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", filepath.Join(src, "sub")).Run() })
	for _, opt := range []string{"ridmap", "idmap"} {
		m := specsMount("/"+opt, "bind", src, "rbind", opt)
		m.UIDMappings, m.GIDMappings = oneToOne(1000, 0), oneToOne(1000, 0)
		e.spec.Mounts = append(e.spec.Mounts, m)
	}
	e.args("sh", "-c", "stat -c %u:%g /ridmap/file /ridmap/sub/file /idmap/file /idmap/sub/file")
	r := e.run()
	if r.code != 0 || r.stdout != "0:0\n0:0\n0:0\n1000:1000\n" {
		t.Fatalf("want ridmap: 0:0 0:0, idmap: 0:0 1000:1000\n%s", r)
	}
	noUsernsHelpers(t)
}

// TestIdmapBadMappings: a mapping the runtime cannot apply is a clear
// create error, and nothing is left: no state dir, no cgroup, no mount
// (newEnv's cleanup checks those), no helper process.
func TestIdmapBadMappings(t *testing.T) {
	tests := []struct {
		name   string
		mount  func(src string) specs.Mount
		userns bool
		want   string
	}{
		{"no mappings, no user namespace", func(src string) specs.Mount {
			return specsMount("/data", "bind", src, "bind", "idmap")
		}, false, "needs uidMappings and gidMappings, or a container user namespace"},
		{"uid mappings only", func(src string) specs.Mount {
			m := specsMount("/data", "bind", src, "bind", "idmap")
			m.UIDMappings = oneToOne(1000, 0)
			return m
		}, false, "uidMappings and gidMappings must be given together"},
		{"empty range", func(src string) specs.Mount {
			m := specsMount("/data", "bind", src, "bind", "ridmap")
			m.UIDMappings, m.GIDMappings = oneToOne(1000, 0), []specs.LinuxIDMapping{{ContainerID: 0, HostID: 0, Size: 0}}
			return m
		}, false, "gidMappings: entry 0 has size 0"},
		{"overlapping ranges", func(src string) specs.Mount {
			m := specsMount("/data", "bind", src, "bind", "idmap")
			m.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 0, Size: 10}, {ContainerID: 5, HostID: 100, Size: 10}}
			m.GIDMappings = oneToOne(0, 0)
			return m
		}, true, "uidMappings: entries 0 and 1 overlap in containerID"},
		{"not a bind mount", func(src string) specs.Mount {
			m := specsMount("/data", "tmpfs", "tmpfs", "idmap")
			m.UIDMappings, m.GIDMappings = oneToOne(1000, 0), oneToOne(1000, 0)
			return m
		}, false, "idmapped mounts must be bind mounts"},
		{"filesystem without idmap support", func(string) specs.Mount {
			m := specsMount("/data", "bind", "/proc", "bind", "idmap")
			m.UIDMappings, m.GIDMappings = oneToOne(1000, 0), oneToOne(1000, 0)
			return m
		}, false, "idmapping the mount (mount_setattr): invalid argument"},
		{"missing source", func(src string) specs.Mount {
			m := specsMount("/data", "bind", src+"-missing", "bind", "idmap")
			m.UIDMappings, m.GIDMappings = oneToOne(1000, 0), oneToOne(1000, 0)
			return m
		}, false, "no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			src := idmapSource(t, e.dir, "data", 1000)
			if tt.userns {
				e.spec.Linux.Namespaces = append(e.spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
				e.spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
				e.spec.Linux.GIDMappings = e.spec.Linux.UIDMappings
			}
			e.spec.Mounts = append(e.spec.Mounts, tt.mount(src))
			e.writeSpec()
			r := e.rt("create", e.id)
			if r.code == 0 {
				t.Fatalf("create succeeded, want %q\n%s", tt.want, r)
			}
			if !strings.Contains(r.stderr, tt.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
				t.Errorf("want one line with %q\n%s", tt.want, r)
			}
			if _, err := os.Stat(filepath.Join(e.root, e.id)); err == nil {
				t.Errorf("state dir left behind")
			}
			noUsernsHelpers(t)
		})
	}
}
