package cgroups

import (
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

const v1NoLimitStr = "9223372036854771712"

// fakeV1 lays out a v1 hierarchy with the container "web" pre-made, as
// the kernel would populate it on mkdir.
func fakeV1(t *testing.T) string {
	root := t.TempDir()
	files := map[string]string{
		"cpuset/cpuset.cpus": "0-3\n", "cpuset/cpuset.mems": "0\n",
		"cpuset/nook/cpuset.cpus": "", "cpuset/nook/cpuset.mems": "",
		"cpuset/nook/web/cpuset.cpus": "", "cpuset/nook/web/cpuset.mems": "",
		"memory/nook/web/memory.limit_in_bytes":       v1NoLimitStr,
		"memory/nook/web/memory.memsw.limit_in_bytes": v1NoLimitStr,
		"memory/nook/web/memory.soft_limit_in_bytes":  "", "memory/nook/web/memory.swappiness": "",
		"memory/nook/web/memory.oom_control": "", "memory/nook/web/memory.usage_in_bytes": "1234\n",
		"memory/nook/web/memory.max_usage_in_bytes": "2345\n",
		"cpu/nook/web/cpu.shares":                   "", "cpu/nook/web/cpu.cfs_period_us": "", "cpu/nook/web/cpu.cfs_quota_us": "",
		"cpuacct/nook/web/cpuacct.usage": "5000\n",
		"pids/nook/web/pids.max":         "", "pids/nook/web/pids.current": "1\n",
		"blkio/nook/web/blkio.bfq.weight": "", "blkio/nook/web/blkio.throttle.read_bps_device": "",
		"devices/nook/web/devices.allow": "", "devices/nook/web/devices.deny": "",
		"freezer/nook/web/freezer.state": "THAWED\n",
		"systemd/nook/web/cgroup.procs":  "",
	}
	for _, c := range []string{"cpuset", "memory", "cpu", "cpuacct", "pids", "blkio", "devices", "freezer"} {
		files[c+"/nook/web/cgroup.procs"] = ""
	}
	fakeTree(t, root, files)
	return root
}

func newFakeV1(t *testing.T, root, path string) (*v1Manager, *recorder) {
	rec := &recorder{}
	m, err := NewAt(root, Legacy, path, "web", slog.New(rec))
	if err != nil {
		t.Fatal(err)
	}
	v1 := m.(*v1Manager)
	v1.rmdir = os.RemoveAll // plain directories hold real files
	return v1, rec
}

func TestV1Create(t *testing.T) {
	root := fakeV1(t)
	m, rec := newFakeV1(t, root, "")
	r := testResources()
	r.Memory.Swap = i64(100 * mib)
	r.Memory.Reservation = i64(10 * mib)
	r.Memory.Swappiness = u64(0)
	r.Memory.DisableOOMKiller = boolp(true)
	r.CPU.Shares = u64(512)
	r.BlockIO = &specs.LinuxBlockIO{Weight: u16(300), ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{
		{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 1 << 20}}}
	r.Devices = []specs.LinuxDeviceCgroup{{Allow: true, Type: "c", Major: i64(1), Minor: i64(3)}}
	if err := m.Create(r); err != nil {
		t.Fatal(err)
	}
	wantFiles(t, root, map[string]string{
		"cpuset/nook/cpuset.cpus": "0-3", "cpuset/nook/cpuset.mems": "0",
		"cpuset/nook/web/cpuset.cpus": "0", "cpuset/nook/web/cpuset.mems": "0",
		"memory/nook/web/memory.limit_in_bytes":         "52428800",
		"memory/nook/web/memory.memsw.limit_in_bytes":   "104857600",
		"memory/nook/web/memory.soft_limit_in_bytes":    "10485760",
		"memory/nook/web/memory.swappiness":             "0",
		"memory/nook/web/memory.oom_control":            "1",
		"cpu/nook/web/cpu.shares":                       "512",
		"cpu/nook/web/cpu.cfs_period_us":                "100000",
		"cpu/nook/web/cpu.cfs_quota_us":                 "50000",
		"pids/nook/web/pids.max":                        "20",
		"blkio/nook/web/blkio.bfq.weight":               "300",
		"blkio/nook/web/blkio.throttle.read_bps_device": "8:0 1048576",
		"devices/nook/web/devices.deny":                 "a",
		"devices/nook/web/devices.allow":                "c 1:3 rwm",
	})
	// Order matters to the kernel: cpuset parents before children, the
	// period before the quota, the deny-all before the allow rules.
	if got := rec.written(root); !containsInOrder(got, []string{
		"cpuset/nook/cpuset.cpus=0-3", "cpuset/nook/web/cpuset.cpus=0-3", "cpuset/nook/web/cpuset.cpus=0",
	}) || !containsInOrder(got, []string{
		"cpu/nook/web/cpu.cfs_period_us=100000", "cpu/nook/web/cpu.cfs_quota_us=50000",
	}) || !containsInOrder(got, []string{
		"devices/nook/web/devices.deny=a", "devices/nook/web/devices.allow=c 1:3 rwm",
	}) {
		t.Errorf("writes out of order:\n%q", got)
	}

	wantPaths := map[string]string{}
	for _, c := range []string{"blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "pids"} {
		wantPaths[c] = filepath.Join(root, c, "nook/web")
	}
	wantPaths["name=systemd"] = filepath.Join(root, "systemd/nook/web")
	if got := m.Paths(); !reflect.DeepEqual(got, wantPaths) {
		t.Errorf("Paths() = %v\nwant %v", got, wantPaths)
	}

	if err := m.Apply(4242); err != nil {
		t.Fatal(err)
	}
	for _, dir := range wantPaths {
		wantFiles(t, dir, map[string]string{"cgroup.procs": "4242"})
	}
	if pids, err := m.Pids(); err != nil || !slices.Equal(pids, []int{4242}) {
		t.Errorf("Pids() = %v, %v", pids, err)
	}

	if err := m.Freeze(true); err != nil {
		t.Fatal(err)
	}
	wantFiles(t, root, map[string]string{"freezer/nook/web/freezer.state": "FROZEN"})
	if err := m.Freeze(false); err != nil {
		t.Fatal(err)
	}
	wantFiles(t, root, map[string]string{"freezer/nook/web/freezer.state": "THAWED"})

	fakeTree(t, root, map[string]string{"memory/nook/web/memory.oom_control": "oom_kill_disable 1\nunder_oom 0\noom_kill 3\n"})
	st, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{CPUUsage: 5000, MemoryUsage: 1234, MemoryMaxUsage: 2345, MemoryLimit: 50 * mib, PidsCurrent: 1, PidsLimit: 20, OOMKills: 3}
	if *st != want {
		t.Errorf("Stats() = %+v, want %+v", *st, want)
	}

	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	wantGone(t, root, "memory/nook", "cpu/nook", "cpuset/nook/web", "systemd/nook")
	if err := m.Destroy(); err != nil {
		t.Errorf("second Destroy: %v", err)
	}
}

func TestV1Errors(t *testing.T) {
	root := fakeV1(t)
	m, _ := newFakeV1(t, root, "")
	// A missing interface file (controller absent): the error names it.
	os.Remove(filepath.Join(root, "pids/nook/web/pids.max"))
	err := m.Create(&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: 5}})
	wantErr(t, err, "writing pids.max=5 to "+filepath.Join(root, "pids/nook/web")+": no such file or directory")
	fakeTree(t, root, map[string]string{"pids/nook/web/pids.max": ""})

	for _, tc := range []struct {
		r    *specs.LinuxResources
		want string
	}{
		{&specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 1}}},
			"hugetlb controller is not mounted at " + filepath.Join(root, "hugetlb")},
		{&specs.LinuxResources{Unified: map[string]string{"memory.high": "1"}}, "unified resources: need cgroup v2"},
		{&specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: u16(10)}}, ""},
	} {
		err := m.Set(tc.r)
		if tc.want == "" {
			if err != nil {
				t.Errorf("Set(%+v): %v", tc.r, err)
			}
			continue
		}
		wantErr(t, err, tc.want)
	}
	// No weight file at all, as on a kernel without BFQ.
	os.Remove(filepath.Join(root, "blkio/nook/web/blkio.bfq.weight"))
	err = m.Set(&specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: u16(10)}})
	wantErr(t, err, "blkio weight: not supported by this kernel (no blkio.weight or blkio.bfq.weight)")
	// A bad spec writes nothing at all, even the valid parts.
	err = m.Set(&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: 7}, Memory: &specs.LinuxMemory{Swappiness: u64(200)}})
	wantErr(t, err, "swappiness")
	wantFiles(t, root, map[string]string{"pids/nook/web/pids.max": ""})
	// No freezer mounted.
	os.RemoveAll(filepath.Join(root, "freezer"))
	m, _ = newFakeV1(t, root, "")
	wantErr(t, m.Freeze(true), "freezer controller is not mounted")
}

func TestV1HybridJoinsUnified(t *testing.T) {
	root := fakeV1(t)
	fakeTree(t, root, map[string]string{"unified/nook/web/cgroup.procs": ""})
	m, err := NewAt(root, Hybrid, "", "web", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Paths()[""]; got != filepath.Join(root, "unified/nook/web") {
		t.Errorf("hybrid Paths()[\"\"] = %q", got)
	}
	m.(*v1Manager).rmdir = os.RemoveAll
	if err := m.Create(nil); err != nil {
		t.Fatal(err)
	}
	if err := m.Apply(7); err != nil {
		t.Fatal(err)
	}
	wantFiles(t, root, map[string]string{"unified/nook/web/cgroup.procs": "7"})
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	wantGone(t, root, "unified/nook")
}
