package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nook-containers/nook/internal/runtime/seccomp"
	"github.com/nook-containers/nook/test/nooktest"
)

func i64(v int64) *int64   { return &v }
func u64(v uint64) *uint64 { return &v }

// TestForkBomb: under pids.limit=20 a fork bomb hits the wall inside while
// the host can still start processes.
func TestForkBomb(t *testing.T) {
	e := newEnv(t).args("/probe", "forkbomb", "200", "2")
	e.spec.Linux.Resources = &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: 20}}
	e.writeSpec()
	e.mustRT("run", "-d", e.id)
	time.Sleep(500 * time.Millisecond)
	if out, err := exec.Command("/bin/true").CombinedOutput(); err != nil {
		t.Errorf("the host cannot start a process during the fork bomb: %v %s", err, out)
	}
	waitStatus(t, e, "stopped")
	// Re-run in the foreground to read the probe's verdict.
	e2 := newEnv(t).args("/probe", "forkbomb", "200", "1")
	e2.spec.Linux.Resources = &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: 20}}
	r := e2.run()
	var res struct {
		Started, Failed int
	}
	if err := json.Unmarshal([]byte(lastLine(r.stdout)), &res); err != nil {
		t.Fatalf("%v: %s", err, r)
	}
	if res.Started >= 20 || res.Failed == 0 {
		t.Errorf("pids.limit=20 did not hold: %+v", res)
	}
}

// TestMemoryHog: a program that allocates past memory.limit 50 MiB is
// OOM-killed inside the container; the host goes on.
func TestMemoryHog(t *testing.T) {
	e := newEnv(t).args("/probe", "memhog", "200")
	e.spec.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(50 << 20), Swap: i64(50 << 20)}}
	r := e.run()
	if r.code != 137 {
		t.Errorf("memory hog under 50 MiB: want exit 137 (SIGKILL by the OOM killer), got %s", r)
	}
}

// TestMemorySmallest: a `true` container, with Docker's default seccomp
// profile and no_new_privs, starts and exits 0 under a 1 MiB memory limit
// (crun's README shows it under 512 KiB where runc fails at 4 MiB). The
// runtime's Go init must not be charged to the container: it joins its
// cgroup only once its runtime is up, and loads a filter built by the
// parent.
func TestMemorySmallest(t *testing.T) {
	for _, limit := range []int64{1 << 20, 768 << 10} {
		e := newEnv(t).args("/bin/true")
		e.spec.Process.NoNewPrivileges = true
		e.spec.Linux.Seccomp = seccomp.DefaultProfile()
		e.spec.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(limit)}}
		if r := e.run(); r.code != 0 {
			t.Errorf("true under a %d KiB memory limit: %s", limit>>10, r)
		}
	}
}

// TestCPUQuota: a busy loop under cpu quota 50000/100000 gets about half a
// core, measured from the cgroup's own CPU accounting over a window.
func TestCPUQuota(t *testing.T) {
	e := newEnv(t).args("/probe", "spin", "30")
	e.spec.Linux.Resources = &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(50000), Period: u64(100000)}}
	e.writeSpec()
	e.mustRT("run", "-d", e.id)
	read := func() float64 { // seconds of CPU used by the cgroup
		if nooktest.Cgroup2() {
			data, err := os.ReadFile(filepath.Join("/sys/fs/cgroup/nook", e.id, "cpu.stat"))
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range strings.Split(string(data), "\n") {
				if v, ok := strings.CutPrefix(l, "usage_usec "); ok {
					n, _ := strconv.ParseFloat(v, 64)
					return n / 1e6
				}
			}
			t.Fatal("no usage_usec in cpu.stat")
		}
		data, err := os.ReadFile(filepath.Join("/sys/fs/cgroup/cpuacct/nook", e.id, "cpuacct.usage"))
		if err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.ParseFloat(strings.TrimSpace(string(data)), 64)
		return n / 1e9
	}
	time.Sleep(300 * time.Millisecond)
	c0, t0 := read(), time.Now()
	time.Sleep(2 * time.Second)
	ratio := (read() - c0) / time.Since(t0).Seconds()
	t.Logf("cpu usage under quota 50000/100000: %.2f cores", ratio)
	if ratio < 0.3 || ratio > 0.65 {
		t.Errorf("busy loop used %.2f cores, want about 0.5", ratio)
	}
	e.mustRT("delete", "--force", e.id)
}

// TestCgroupLimitsVisible: the limits land in the container's cgroup, and the
// container sees them through its cgroup mount.
func TestCgroupLimitsVisible(t *testing.T) {
	e := newEnv(t)
	e.spec.Linux.Resources = &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: i64(256 << 20)},
		Pids:   &specs.LinuxPids{Limit: 100},
		CPU:    &specs.LinuxCPU{Quota: i64(20000), Period: u64(100000), Shares: u64(512), Cpus: "0"},
	}
	e.spec.Linux.Namespaces = append(e.spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	e.spec.Mounts = append(e.spec.Mounts, specsMount("/sys/fs/cgroup", "cgroup", "cgroup", "ro", "nosuid", "nodev", "noexec"))
	rep := e.probe()
	want := map[string]string{
		"/sys/fs/cgroup/memory/memory.limit_in_bytes": "268435456",
		"/sys/fs/cgroup/pids/pids.max":                "100",
		"/sys/fs/cgroup/cpu/cpu.cfs_quota_us":         "20000",
	}
	if nooktest.Cgroup2() {
		want = map[string]string{
			"/sys/fs/cgroup/memory.max": "268435456",
			"/sys/fs/cgroup/pids.max":   "100",
			"/sys/fs/cgroup/cpu.max":    "20000 100000",
		}
	}
	for k, v := range want {
		if rep.Cgroup.Limits[k] != v {
			t.Errorf("%s = %q, want %q (all: %v)", k, rep.Cgroup.Limits[k], v, rep.Cgroup.Limits)
		}
	}
}

// TestCgroupMountReadOnly: a "ro" cgroup mount is read-only, nosuid, nodev
// and noexec all the way down: on v1 the tmpfs and every controller's bind
// in it (set with one recursive mount_setattr), on v2 the cgroup2 mount.
func TestCgroupMountReadOnly(t *testing.T) {
	e := newEnv(t)
	e.spec.Linux.Namespaces = append(e.spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	e.spec.Mounts = append(e.spec.Mounts, specsMount("/sys/fs/cgroup", "cgroup", "cgroup", "ro", "nosuid", "nodev", "noexec"))
	rep := e.probe()
	n := 0
	for _, m := range rep.Mounts {
		if m.MountPoint != "/sys/fs/cgroup" && !strings.HasPrefix(m.MountPoint, "/sys/fs/cgroup/") {
			continue
		}
		n++
		for _, o := range []string{"ro", "nosuid", "nodev", "noexec"} {
			if !slices.Contains(m.Options, o) {
				t.Errorf("%s: options %v lack %q", m.MountPoint, m.Options, o)
			}
		}
	}
	if want := 1; n < want || !nooktest.Cgroup2() && n < 2 {
		t.Errorf("%d mounts at /sys/fs/cgroup, want the cgroup2 mount (v2) or a tmpfs and a bind per controller (v1)", n)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
