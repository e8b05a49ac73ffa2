package cgroups

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf/asm"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

const v2Controllers = "cpuset cpu io memory hugetlb pids"

// fakeV2 lays out a unified hierarchy with the container "web" pre-made.
func fakeV2(t *testing.T) string {
	root := t.TempDir()
	files := map[string]string{
		"cgroup.controllers": v2Controllers + "\n", "cgroup.subtree_control": "\n",
		"nook/cgroup.controllers": v2Controllers + "\n", "nook/cgroup.subtree_control": "\n",
		"nook/web/cgroup.events":  "populated 1\nfrozen 0\n",
		"nook/web/memory.events":  "low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\n",
		"nook/web/cpu.stat":       "usage_usec 7\nuser_usec 5\nsystem_usec 2\n",
		"nook/web/memory.current": "1000\n", "nook/web/memory.peak": "2000\n", "nook/web/pids.current": "2\n",
	}
	for _, f := range []string{"cgroup.procs", "cgroup.freeze", "memory.max", "memory.swap.max", "memory.low",
		"memory.high", "cpu.weight", "cpu.max", "cpuset.cpus", "cpuset.mems", "pids.max", "io.weight", "io.max",
		"hugetlb.2MB.max"} {
		files["nook/web/"+f] = ""
	}
	fakeTree(t, root, files)
	return root
}

func newFakeV2(t *testing.T, root, path string) (*v2Manager, *recorder) {
	rec := &recorder{}
	m, err := NewAt(root, Unified, path, "web", slog.New(rec))
	if err != nil {
		t.Fatal(err)
	}
	v2 := m.(*v2Manager)
	v2.rmdir = os.RemoveAll
	v2.attachDevices = func(_ *slog.Logger, dir string, insns asm.Instructions) error {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		rec.writes = append(rec.writes, fmt.Sprintf("%s/<device filter>=%d insns", dir, len(insns)))
		return nil
	}
	return v2, rec
}

func TestV2Create(t *testing.T) {
	root := fakeV2(t)
	m, rec := newFakeV2(t, root, "")
	r := testResources()
	r.Memory.Swap = i64(80 * mib)
	r.CPU.Shares = u64(1024)
	r.BlockIO = &specs.LinuxBlockIO{Weight: u16(100), ThrottleWriteBpsDevice: []specs.LinuxThrottleDevice{
		{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 16}, Rate: 1 << 20}}}
	r.HugepageLimits = []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4 * mib}}
	r.Unified = map[string]string{"memory.high": "40000000"}
	r.Devices = []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}
	if err := m.Create(r); err != nil {
		t.Fatal(err)
	}
	enabled := "+cpuset +cpu +io +memory +hugetlb +pids"
	wantFiles(t, root, map[string]string{
		"cgroup.subtree_control":      enabled,
		"nook/cgroup.subtree_control": enabled,
		"nook/web/memory.max":         "52428800",
		"nook/web/memory.swap.max":    "31457280",
		"nook/web/memory.high":        "40000000",
		"nook/web/cpu.weight":         "39",
		"nook/web/cpu.max":            "50000 100000",
		"nook/web/cpuset.cpus":        "0",
		"nook/web/pids.max":           "20",
		"nook/web/io.weight":          "910",
		"nook/web/io.max":             "8:16 wbps=1048576",
		"nook/web/hugetlb.2MB.max":    "4194304",
	})
	if got := rec.written(root); !containsInOrder(got, []string{
		"cgroup.subtree_control=" + enabled, "nook/cgroup.subtree_control=" + enabled, "nook/web/memory.max=52428800",
	}) {
		t.Errorf("writes out of order:\n%q", got)
	}
	if got := m.Paths(); len(got) != 1 || got[""] != filepath.Join(root, "nook/web") {
		t.Errorf("Paths() = %v", got)
	}

	if err := m.Apply(4242); err != nil {
		t.Fatal(err)
	}
	if pids, err := m.Pids(); err != nil || !slices.Equal(pids, []int{4242}) {
		t.Errorf("Pids() = %v, %v", pids, err)
	}

	fakeTree(t, root, map[string]string{"nook/web/cgroup.events": "populated 1\nfrozen 1\n"})
	if err := m.Freeze(true); err != nil {
		t.Fatal(err)
	}
	wantFiles(t, root, map[string]string{"nook/web/cgroup.freeze": "1"})

	st, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{CPUUsage: 7000, MemoryUsage: 1000, MemoryMaxUsage: 2000, MemoryLimit: 50 * mib, PidsCurrent: 2, PidsLimit: 20, OOMKills: 1}
	if *st != want {
		t.Errorf("Stats() = %+v, want %+v", *st, want)
	}

	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	wantGone(t, root, "nook/web")
	if err := m.Destroy(); err != nil {
		t.Errorf("second Destroy: %v", err)
	}
}

func TestV2EnableControllers(t *testing.T) {
	root := fakeV2(t)
	// Already enabled at the root: only the missing ones are written.
	fakeTree(t, root, map[string]string{
		"cgroup.subtree_control":      "cpuset cpu io memory hugetlb pids\n",
		"nook/cgroup.subtree_control": "memory pids\n",
	})
	m, rec := newFakeV2(t, root, "")
	if err := m.Create(nil); err != nil {
		t.Fatal(err)
	}
	got := rec.written(root)
	want := []string{"nook/cgroup.subtree_control=+cpuset +cpu +io +hugetlb"}
	if !slices.Equal(got, want) {
		t.Errorf("writes = %q, want %q", got, want)
	}
}

func TestV2Errors(t *testing.T) {
	root := fakeV2(t)
	m, _ := newFakeV2(t, root, "")
	os.Remove(filepath.Join(root, "nook/web/memory.max"))
	err := m.Create(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(50 * mib)}})
	wantErr(t, err, "writing memory.max=52428800 to "+filepath.Join(root, "nook/web")+": no such file or directory")

	err = m.Set(&specs.LinuxResources{Unified: map[string]string{"../cgroup.procs": "1"}})
	wantErr(t, err, "not a cgroup file name")

	// A freeze that never completes is undone.
	defer func(d time.Duration) { freezeTimeout = d }(freezeTimeout)
	freezeTimeout = 20 * time.Millisecond
	err = m.Freeze(true)
	wantErr(t, err, "cgroup.freeze to 1", "not done after")
	wantFiles(t, root, map[string]string{"nook/web/cgroup.freeze": "0"})
}

// selfCgroups is this test process's /proc/self/cgroup, parsed (the test
// is skipped where it cannot be read).
func selfCgroups(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Skip(err)
	}
	self, err := parseProcCgroup(string(data))
	if err != nil {
		t.Fatal(err)
	}
	return self
}

func TestV2RelativePath(t *testing.T) {
	self := selfCgroups(t)
	root := t.TempDir()
	m, err := NewAt(root, Unified, "sub/web", "web", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(root, self[""], "sub/web")
	if got := m.Paths()[""]; got != want {
		t.Errorf("relative path: Paths()[\"\"] = %q, want %q", got, want)
	}
	if !strings.HasPrefix(want, root) {
		t.Errorf("relative path %q escapes root %q", want, root)
	}
}
