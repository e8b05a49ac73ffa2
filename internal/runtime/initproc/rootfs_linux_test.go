package initproc

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The rootfs steps need root and a mount namespace of their own, and
// pivot_root changes the whole process. So TestRootfs re-runs the test
// binary in new mount and PID namespaces, where TestRootfsHelperProcess does
// the work and checks what the container sees. A helper test function rather
// than TestMain, so that the package keeps working when others add tests.

const rootfsHelperEnv = "NOOK_TEST_ROOTFS_HELPER"

// helperConfig is what TestRootfs hands the helper process.
type helperConfig struct {
	Rootfs      string            `json:"rootfs"`
	BindDir     string            `json:"bindDir"`
	Escape      string            `json:"escape"`
	Cgroup2     bool              `json:"cgroup2"`
	UserNS      bool              `json:"userNS"`
	LockedDir   string            `json:"lockedDir"`
	NoPivot     bool              `json:"noPivot"`
	CgroupPaths map[string]string `json:"cgroupPaths"`
}

func TestRootfs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	t.Run("host", func(t *testing.T) { testRootfs(t, false, false) })
	t.Run("nopivot", func(t *testing.T) { testRootfs(t, false, true) })
	// In a user namespace the host's mount flags are locked, mknod is
	// refused and sysfs may not be mounted: the other half of every branch.
	t.Run("userns", func(t *testing.T) { testRootfs(t, true, false) })
}

func testRootfs(t *testing.T, userNS, noPivot bool) {
	dir := t.TempDir()
	c := helperConfig{
		Rootfs:  filepath.Join(dir, "rootfs"),
		BindDir: filepath.Join(dir, "bind"),
		Escape:  fmt.Sprintf("nook-rootfs-escape-%d", os.Getpid()),
		UserNS:  userNS,
		NoPivot: noPivot,
	}
	for _, d := range []string{"proc", "dev", "sys", "tmp", "etc", "bin"} {
		rootfsMust(t, os.MkdirAll(filepath.Join(c.Rootfs, d), 0o755))
	}
	rootfsMust(t, os.MkdirAll(c.BindDir, 0o755))
	rootfsMust(t, os.WriteFile(filepath.Join(c.BindDir, "hello"), []byte("hello\n"), 0o644))
	rootfsMust(t, os.WriteFile(filepath.Join(c.Rootfs, "etc", "image-marker"), nil, 0o644))
	// Planted symlinks a hostile image could ship: mounts on them must land
	// inside the rootfs.
	rootfsMust(t, os.Symlink("/etc", filepath.Join(c.Rootfs, "evil")))
	rootfsMust(t, os.Symlink("../../../../../../../../"+c.Escape, filepath.Join(c.Rootfs, "escape")))
	rootfsMust(t, os.Mkdir(filepath.Join(c.Rootfs, c.Escape), 0o755))
	rootfsMust(t, os.Symlink("../../../../../../../../"+c.Escape+"-dangling", filepath.Join(c.Rootfs, "dangling")))
	hostEscape := filepath.Join("/", c.Escape)
	t.Cleanup(func() {
		os.Remove(hostEscape)
		os.Remove(hostEscape + "-dangling")
	})
	if data, err := os.ReadFile("/bin/busybox"); err == nil {
		rootfsMust(t, os.WriteFile(filepath.Join(c.Rootfs, "bin", "busybox"), data, 0o755))
	}

	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		c.Cgroup2 = true
		// In a user namespace without a cgroup namespace of its own the
		// kernel refuses a cgroup2 mount; init then binds its own cgroup.
		if data, err := os.ReadFile("/proc/self/cgroup"); err == nil {
			if p, ok := strings.CutPrefix(strings.TrimSpace(string(data)), "0::"); ok {
				c.CgroupPaths = map[string]string{"": filepath.Join("/sys/fs/cgroup", p)}
			}
		}
	} else {
		c.CgroupPaths = v1CgroupPaths(t)
	}

	if userNS {
		// A nosuid,nodev,noexec mount the user namespace inherits locked:
		// binding it read-only must keep those flags or fail with EPERM.
		c.LockedDir = filepath.Join(dir, "locked")
		rootfsMust(t, os.Mkdir(c.LockedDir, 0o755))
		rootfsMust(t, unix.Mount("tmpfs", c.LockedDir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=64k"))
		t.Cleanup(func() { unix.Unmount(c.LockedDir, unix.MNT_DETACH) })
	}
	cfg, err := json.Marshal(c)
	rootfsMust(t, err)
	cmd := exec.Command(os.Args[0], "-test.run=^TestRootfsHelperProcess$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), rootfsHelperEnv+"="+string(cfg))
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID,
		Pdeathsig:  syscall.SIGKILL,
	}
	if userNS {
		// Root stays root, but in a user namespace that owns neither the
		// host's mounts nor its network namespace. A new IPC namespace
		// for mqueue.
		cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWUSER | syscall.CLONE_NEWIPC
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 65536}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 65536}}
	}
	out, err := cmd.CombinedOutput()
	t.Logf("helper output:\n%s", out)
	if err != nil {
		t.Fatalf("helper process: %v", err)
	}
	if !strings.Contains(string(out), "--- PASS: TestRootfsHelperProcess") {
		t.Fatal("helper process did not pass")
	}
	for _, p := range []string{hostEscape, hostEscape + "-dangling"} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a planted symlink reached the host: %s exists", p)
		}
	}
}

// v1CgroupPaths picks a few of this process's v1 cgroup directories, one
// under a co-mounted-style name to exercise the symlinks.
func v1CgroupPaths(t *testing.T) map[string]string {
	paths := map[string]string{}
	data, err := os.ReadFile("/proc/self/cgroup")
	rootfsMust(t, err)
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch parts[1] {
		case "pids", "memory":
			paths[parts[1]] = filepath.Join("/sys/fs/cgroup", parts[1], parts[2])
		case "cpu":
			paths["cpu,cpuacct"] = filepath.Join("/sys/fs/cgroup/cpu", parts[2])
		}
	}
	for k, p := range paths {
		if _, err := os.Stat(p); err != nil {
			delete(paths, k)
		}
	}
	return paths
}

func helperSpec(c helperConfig) *specs.Spec {
	mode := func(m os.FileMode) *os.FileMode { return &m }
	id := func(v uint32) *uint32 { return &v }
	devices := []specs.LinuxDevice{
		{Path: "/dev/sub/myfifo", Type: "p", FileMode: mode(0o600)},
	}
	if !c.UserNS {
		// In a user namespace devices are bound from the same path on the
		// host, and the host has no /dev/mynull.
		devices = append(devices,
			specs.LinuxDevice{Path: "/dev/mynull", Type: "c", Major: 1, Minor: 3, FileMode: mode(0o640), UID: id(1), GID: id(2)})
	}
	var mounts []specs.Mount
	if c.LockedDir != "" {
		mounts = append(mounts, specs.Mount{Destination: "/locked", Type: "bind", Source: c.LockedDir, Options: []string{"bind", "ro"}})
	}
	return &specs.Spec{
		Root: &specs.Root{Path: c.Rootfs, Readonly: true},
		Mounts: append([]specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
			{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
			{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "size=1m"}},
			{Destination: "/data", Type: "bind", Source: c.BindDir, Options: []string{"rbind", "ro", "nosuid", "rprivate"}},
			{Destination: "/hello", Type: "bind", Source: filepath.Join(c.BindDir, "hello"), Options: []string{"bind", "ro"}},
			{Destination: "/rdata", Type: "bind", Source: c.BindDir, Options: []string{"rbind", "rro"}},
			{Destination: "/evil", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=64k"}},
			{Destination: "/escape", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=64k"}},
		}, mounts...),
		Linux: &specs.Linux{
			Devices:           devices,
			MaskedPaths:       []string{"/proc/kcore", "/proc/timer_list", "/proc/does-not-exist", "/proc/acpi", "/sys/firmware"},
			ReadonlyPaths:     []string{"/proc/sys", "/proc/sysrq-trigger"},
			RootfsPropagation: "private",
		},
	}
}

func TestRootfsHelperProcess(t *testing.T) {
	cfg := os.Getenv(rootfsHelperEnv)
	if cfg == "" {
		t.Skip("helper process for TestRootfs")
	}
	// Never unlocked: this process exists only for this test.
	runtime.LockOSThread()
	var c helperConfig
	rootfsMust(t, json.Unmarshal([]byte(cfg), &c))
	b := &Bootstrap{ID: "test", Bundle: filepath.Dir(c.Rootfs), Rootfs: c.Rootfs, Spec: helperSpec(c),
		Cgroup2: c.Cgroup2, CgroupPaths: c.CgroupPaths, NewUserNS: c.UserNS, NoPivot: c.NoPivot}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))

	// Which of the masked and read-only paths this kernel has (no
	// /proc/kcore without CONFIG_PROC_KCORE, for one); /proc is still the
	// host's here.
	exists := map[string]bool{}
	for _, p := range append(b.Spec.Linux.MaskedPaths, b.Spec.Linux.ReadonlyPaths...) {
		_, err := os.Stat(p)
		exists[p] = err == nil
	}

	rootfsMust(t, prepareRootfs(b, log))
	// A destination that resolves into procfs is refused.
	root, err := os.OpenFile(c.Rootfs, unix.O_PATH|unix.O_DIRECTORY, 0)
	rootfsMust(t, err)
	err = mountEntry(b, log, root, specs.Mount{Destination: "/proc/sys/kernel", Type: "tmpfs", Source: "tmpfs"})
	if err == nil || !strings.Contains(err.Error(), "inside procfs") {
		t.Errorf("tmpfs on /proc/sys/kernel: got %v, want an inside-procfs error", err)
	}
	// A dangling symlink out of the rootfs: securejoin refuses to create
	// through it; either way nothing may appear on the host (TestRootfs
	// checks).
	err = mountEntry(b, log, root, specs.Mount{Destination: "/dangling", Type: "tmpfs", Source: "tmpfs"})
	t.Logf("tmpfs on /dangling: %v", err)
	root.Close()
	rootfsMust(t, pivotRoot(b, log))
	rootfsMust(t, finalizeRootfs(b, log))

	mi := readMountinfo(t)
	checkMount(t, mi, "/", "", "ro")
	if strings.Contains(mi["/"].optional, "shared:") || strings.Contains(mi["/"].optional, "master:") {
		t.Errorf("/ is not private: %q", mi["/"].optional)
	}
	checkMount(t, mi, "/proc", "proc", "nosuid", "nodev", "noexec")
	checkMount(t, mi, "/dev", "tmpfs", "rw", "nosuid", "size=65536k", "mode=755")
	checkMount(t, mi, "/dev/pts", "devpts", "ptmxmode=666")
	checkMount(t, mi, "/dev/mqueue", "mqueue", "nosuid")
	checkMount(t, mi, "/sys", "sysfs", "ro")
	checkMount(t, mi, "/tmp", "tmpfs", "rw", "nosuid", "nodev", "size=1024k")
	checkMount(t, mi, "/data", "", "ro", "nosuid")
	checkMount(t, mi, "/hello", "", "ro")
	checkMount(t, mi, "/rdata", "", "ro")
	if c.LockedDir != "" {
		checkMount(t, mi, "/locked", "tmpfs", "ro", "nosuid", "nodev", "noexec")
	}
	checkMount(t, mi, "/etc", "tmpfs", "size=64k")
	checkMount(t, mi, "/"+c.Escape, "tmpfs", "size=64k")
	for _, p := range b.Spec.Linux.MaskedPaths {
		switch fi, err := os.Stat(p); {
		case !exists[p]:
			if _, ok := mi[p]; ok {
				t.Errorf("missing masked path %s was mounted", p)
			}
		case err != nil:
			t.Error(err)
		case fi.IsDir():
			checkMount(t, mi, p, "tmpfs", "ro")
		default:
			checkMount(t, mi, p, "", "rw") // a bind of /dev/null
			if data, err := os.ReadFile(p); err != nil || len(data) != 0 {
				t.Errorf("masked %s: read %d bytes, %v", p, len(data), err)
			}
		}
	}
	for _, p := range b.Spec.Linux.ReadonlyPaths {
		if exists[p] {
			checkMount(t, mi, p, "proc", "ro")
		}
	}
	if c.Cgroup2 {
		checkMount(t, mi, "/sys/fs/cgroup", "cgroup2", "ro")
	} else if len(c.CgroupPaths) > 0 {
		checkMount(t, mi, "/sys/fs/cgroup", "tmpfs", "ro", "mode=755")
		for k := range c.CgroupPaths {
			checkMount(t, mi, "/sys/fs/cgroup/"+k, "cgroup", "ro", "nosuid")
		}
		if _, ok := c.CgroupPaths["cpu,cpuacct"]; ok {
			checkLink(t, "/sys/fs/cgroup/cpu", "cpu,cpuacct")
			checkLink(t, "/sys/fs/cgroup/cpuacct", "cpu,cpuacct")
		}
	}

	checkNode(t, "/dev/null", unix.S_IFCHR, 0o666, unix.Mkdev(1, 3), 0, 0)
	if !c.UserNS {
		checkNode(t, "/dev/tty", unix.S_IFCHR, 0o666, unix.Mkdev(5, 0), 0, 0)
		checkNode(t, "/dev/mynull", unix.S_IFCHR, 0o640, unix.Mkdev(1, 3), 1, 2)
	}
	checkNode(t, "/dev/sub/myfifo", unix.S_IFIFO, 0o600, 0, 0, 0)
	checkNode(t, "/dev/console", unix.S_IFREG, 0o600, 0, 0, 0)
	checkLink(t, "/dev/fd", "/proc/self/fd")
	checkLink(t, "/dev/stderr", "/proc/self/fd/2")
	checkLink(t, "/dev/ptmx", "pts/ptmx")
	if _, err := os.Lstat("/dev/core"); err == nil {
		t.Error("/dev/core exists")
	}

	for _, p := range []string{"/data/new", "/newfile", "/proc/sys/kernel/hostname"} {
		if err := os.WriteFile(p, []byte("x"), 0o644); !errors.Is(err, unix.EROFS) {
			t.Errorf("writing %s: got %v, want EROFS", p, err)
		}
	}
	rootfsMust(t, os.WriteFile("/tmp/ok", []byte("x"), 0o644))
	if _, err := os.Stat("/etc/image-marker"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("/etc is not covered by the tmpfs mounted through /evil: %v", err)
	}
	var rootSt, dotdotSt unix.Stat_t
	rootfsMust(t, unix.Stat("/", &rootSt))
	rootfsMust(t, unix.Stat("/..", &dotdotSt))
	if rootSt.Dev != dotdotSt.Dev || rootSt.Ino != dotdotSt.Ino {
		t.Error(`"/.." is not "/"`)
	}

	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Log("no /bin/busybox in the rootfs, exec check skipped")
		return
	}
	out, err := exec.Command("/bin/busybox", "ls", "/..").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "hello") {
		t.Errorf("busybox ls /..: %v\n%s", err, out)
	}
}

type mountinfoEntry struct {
	fstype, options, optional, superOptions string
}

// readMountinfo maps each mount point to its topmost mount (proc(5)).
func readMountinfo(t *testing.T) map[string]mountinfoEntry {
	f, err := os.Open("/proc/self/mountinfo")
	rootfsMust(t, err)
	defer f.Close()
	m := map[string]mountinfoEntry{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		pre, post, ok := strings.Cut(s.Text(), " - ")
		fields, rest := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fields) < 6 || len(rest) < 3 {
			t.Fatalf("bad mountinfo line %q", s.Text())
		}
		point, _ := strconv.Unquote(`"` + strings.ReplaceAll(fields[4], `\054`, ",") + `"`)
		if point == "" {
			point = fields[4]
		}
		m[point] = mountinfoEntry{fstype: rest[0], options: fields[5],
			optional: strings.Join(fields[6:], " "), superOptions: rest[2]}
	}
	rootfsMust(t, s.Err())
	return m
}

// checkMount checks that point is mounted with fstype (unless "") and that
// each option is in the mount's or the superblock's options.
func checkMount(t *testing.T, mi map[string]mountinfoEntry, point, fstype string, options ...string) {
	t.Helper()
	e, ok := mi[point]
	if !ok {
		t.Errorf("%s is not a mount point", point)
		return
	}
	if fstype != "" && e.fstype != fstype {
		t.Errorf("%s: type %s, want %s", point, e.fstype, fstype)
	}
	have := strings.Split(e.options+","+e.superOptions, ",")
	for _, o := range options {
		found := false
		for _, h := range have {
			found = found || h == o
		}
		if !found {
			t.Errorf("%s: option %s missing from %s / %s", point, o, e.options, e.superOptions)
		}
	}
}

func checkNode(t *testing.T, path string, ftype, perm uint32, rdev uint64, uid, gid uint32) {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Error(err)
		return
	}
	if st.Mode&unix.S_IFMT != ftype || st.Mode&0o7777 != perm || st.Rdev != rdev || st.Uid != uid || st.Gid != gid {
		t.Errorf("%s: mode %#o rdev %d:%d owner %d:%d; want mode %#o rdev %d:%d owner %d:%d", path,
			st.Mode, unix.Major(st.Rdev), unix.Minor(st.Rdev), st.Uid, st.Gid,
			ftype|perm, unix.Major(rdev), unix.Minor(rdev), uid, gid)
	}
}

func checkLink(t *testing.T, path, want string) {
	t.Helper()
	if got, err := os.Readlink(path); err != nil || got != want {
		t.Errorf("readlink %s = %q, %v; want %q", path, got, err, want)
	}
}

func rootfsMust(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
