package cgroups

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestParseSystemdPath(t *testing.T) {
	for _, tc := range []struct{ path, name, rel string }{
		{"system.slice:nook:abc", "nook-abc.scope", "/system.slice/nook-abc.scope"},
		{":cri-containerd:abc", "cri-containerd-abc.scope", "/system.slice/cri-containerd-abc.scope"},
		{"", "nook-web.scope", "/system.slice/nook-web.scope"},
		{"machine.slice::web", "web.scope", "/machine.slice/web.scope"},
		{"-.slice:p:web", "p-web.scope", "/p-web.scope"},
		// kubelet's systemd driver: the pod's slice, a scope per container
		{"kubepods-burstable-pod12.slice:cri-containerd:c1", "cri-containerd-c1.scope",
			"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod12.slice/cri-containerd-c1.scope"},
		// a slice of its own, placed by its name
		{"system.slice:x:nook-web.slice", "nook-web.slice", "/nook.slice/nook-web.slice"},
	} {
		u, err := parseSystemdPath(tc.path, "web")
		if err != nil {
			t.Errorf("%q: %v", tc.path, err)
			continue
		}
		if u.name != tc.name || u.rel != tc.rel {
			t.Errorf("%q: unit %q at %q, want %q at %q", tc.path, u.name, u.rel, tc.name, tc.rel)
		}
	}
	for _, bad := range []string{"foo", "/nook/web", "a.slice:b", "a:b:c:d", "a.slice:p:", "a:p:n",
		"a--b.slice:p:n", "-a.slice:p:n", "x/y.slice:p:n", ".slice:p:n", "a.slice:p:n/m", "a.slice:p:n m"} {
		if u, err := parseSystemdPath(bad, "web"); err == nil {
			t.Errorf("%q: parsed as %+v, want an error", bad, u)
		}
	}
	_, err := parseSystemdPath("foo", "web")
	if want := `expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups, got "foo" instead`; err == nil || err.Error() != want {
		t.Errorf("error %v, want runc's %q", err, want)
	}
}

func TestUnitResources(t *testing.T) {
	r := &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: i64(64 * mib), Swap: i64(128 * mib), Reservation: i64(32 * mib)},
		CPU: &specs.LinuxCPU{Shares: u64(1024), Quota: i64(12345), Period: u64(100000),
			Cpus: "0-1,3", Mems: "0"},
		Pids:    &specs.LinuxPids{Limit: 100},
		BlockIO: &specs.LinuxBlockIO{Weight: u16(500)},
	}
	v2, err := unitResources(r, Unified)
	if err != nil {
		t.Fatal(err)
	}
	want := []property{
		{"MemoryMax", uint64(64 * mib)}, {"MemorySwapMax", uint64(64 * mib)}, {"MemoryLow", uint64(32 * mib)},
		{"CPUWeight", uint64(39)}, {"CPUQuotaPeriodUSec", uint64(100000)},
		// 12.345% of a CPU, rounded up to systemd's whole percent
		{"CPUQuotaPerSecUSec", uint64(130000)},
		{"AllowedCPUs", []byte{0b1011}}, {"AllowedMemoryNodes", []byte{1}},
		{"TasksMax", uint64(100)}, {"IOWeight", blkioWeightToIOWeight(500)},
	}
	if !reflect.DeepEqual(v2, want) {
		t.Errorf("v2 properties\n got %v\nwant %v", v2, want)
	}
	v1, err := unitResources(r, Hybrid)
	if err != nil {
		t.Fatal(err)
	}
	want = []property{
		{"MemoryLimit", uint64(64 * mib)}, {"CPUShares", uint64(1024)}, {"CPUQuotaPeriodUSec", uint64(100000)},
		{"CPUQuotaPerSecUSec", uint64(130000)},
		{"TasksMax", uint64(100)}, {"BlockIOWeight", uint64(500)},
	}
	if !reflect.DeepEqual(v1, want) {
		t.Errorf("v1 properties\n got %v\nwant %v", v1, want)
	}
	// unlimited is systemd's infinity
	r = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(-1)}, Pids: &specs.LinuxPids{Limit: -1},
		CPU: &specs.LinuxCPU{Quota: i64(-1)}}
	got, err := unitResources(r, Unified)
	if err != nil {
		t.Fatal(err)
	}
	want = []property{{"MemoryMax", uint64(infinity)}, {"CPUQuotaPeriodUSec", uint64(defaultPeriod)},
		{"CPUQuotaPerSecUSec", uint64(infinity)}, {"TasksMax", uint64(infinity)}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("unlimited\n got %v\nwant %v", got, want)
	}
	if _, err := unitResources(&specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "3-1"}}, Unified); err == nil {
		t.Error("cpus 3-1: no error")
	}
	if _, err := unitResources(&specs.LinuxResources{Memory: &specs.LinuxMemory{Swap: i64(mib)}}, Unified); err == nil {
		t.Error("swap without a memory limit on v2: no error")
	}
}

func TestCPUMask(t *testing.T) {
	for _, tc := range []struct {
		list string
		want []byte
	}{{"0", []byte{1}}, {"0-1,3", []byte{0b1011}}, {"8", []byte{0, 1}}, {"0-9", []byte{0xff, 3}}, {" 2 , 4", []byte{0b10100}}} {
		got, err := cpuMask(tc.list)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("cpuMask(%q) = %08b, %v; want %08b", tc.list, got, err, tc.want)
		}
	}
	for _, bad := range []string{"x", "1-", "-1", "3-1", "9000", "1-2-3"} {
		if got, err := cpuMask(bad); err == nil {
			t.Errorf("cpuMask(%q) = %v, want an error", bad, got)
		}
	}
}

// fakeBus records the calls the driver makes to systemd; a start makes the
// unit's directory, as systemd would.
type fakeBus struct {
	root     string
	calls    []string
	props    []property
	startErr error
}

func (b *fakeBus) StartTransientUnit(name string, props []property) error {
	b.calls = append(b.calls, "start "+name)
	b.props = props
	if b.startErr != nil {
		return b.startErr
	}
	return nil
}
func (b *fakeBus) SetUnitProperties(name string, props []property) error {
	b.calls = append(b.calls, fmt.Sprintf("set %s %v", name, props))
	return nil
}
func (b *fakeBus) StopUnit(name string) error { b.calls = append(b.calls, "stop "+name); return nil }
func (b *fakeBus) ResetFailedUnit(name string) {
	b.calls = append(b.calls, "reset-failed "+name)
}
func (b *fakeBus) Close() error { return nil }

func newFakeSystemd(t *testing.T, path string) (*systemdManager, *fakeBus, string, *recorder) {
	root := t.TempDir()
	files := map[string]string{
		"cgroup.controllers": v2Controllers + "\n", "cgroup.subtree_control": v2Controllers + "\n",
		"system.slice/cgroup.controllers": v2Controllers + "\n", "system.slice/cgroup.subtree_control": "memory pids\n",
	}
	for _, f := range []string{"cgroup.procs", "memory.max", "pids.max", "cpu.max", "cpu.weight"} {
		files["system.slice/nook-web.scope/"+f] = ""
	}
	fakeTree(t, root, files)
	bus := &fakeBus{root: root}
	rec := &recorder{}
	m, err := newSystemdAt(root, Unified, path, "web", slog.New(rec), func() (systemdBus, error) { return bus, nil })
	if err != nil {
		t.Fatal(err)
	}
	m.fs.(*v2Manager).rmdir = os.RemoveAll
	return m, bus, root, rec
}

func TestSystemdManager(t *testing.T) {
	m, bus, root, rec := newFakeSystemd(t, "system.slice:nook:web")
	if got, want := m.Paths()[""], root+"/system.slice/nook-web.scope"; got != want {
		t.Errorf("path %s, want %s", got, want)
	}
	r := &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(64 * mib)}, Pids: &specs.LinuxPids{Limit: 50}}
	if err := m.Create(r); err != nil {
		t.Fatal(err)
	}
	if len(bus.calls) != 0 {
		t.Errorf("Create talked to systemd: %v", bus.calls)
	}
	if err := m.Apply(4242); err != nil {
		t.Fatal(err)
	}
	if want := []string{"reset-failed nook-web.scope", "start nook-web.scope"}; !slices.Equal(bus.calls, want) {
		t.Errorf("calls %v, want %v", bus.calls, want)
	}
	props := map[string]any{}
	for _, p := range bus.props {
		props[p.Name] = p.Value
	}
	for name, want := range map[string]any{"Slice": "system.slice", "Delegate": true, "PIDs": []uint32{4242},
		"MemoryMax": uint64(64 * mib), "TasksMax": uint64(50), "DefaultDependencies": false} {
		if !reflect.DeepEqual(props[name], want) {
			t.Errorf("property %s = %#v, want %#v", name, props[name], want)
		}
	}
	wantFiles(t, root, map[string]string{"system.slice/nook-web.scope/memory.max": "67108864",
		"system.slice/nook-web.scope/pids.max": "50", "system.slice/nook-web.scope/cgroup.procs": "4242"})
	if w := rec.written(root); !slices.Contains(w, "system.slice/nook-web.scope/memory.max=67108864") {
		t.Errorf("writes %v", w)
	}

	// another manager of the same container (exec) joins, starts nothing
	other, err := newSystemdAt(root, Unified, "system.slice:nook:web", "web", nil, func() (systemdBus, error) { return bus, nil })
	if err != nil {
		t.Fatal(err)
	}
	bus.calls = nil
	if err := other.Apply(4343); err != nil || len(bus.calls) != 0 {
		t.Errorf("exec's Apply: %v, calls %v", err, bus.calls)
	}
	wantFiles(t, root, map[string]string{"system.slice/nook-web.scope/cgroup.procs": "4343"})

	bus.calls = nil
	if err := m.Set(&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: 10}}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"set nook-web.scope [{TasksMax 10}]"}; !slices.Equal(bus.calls, want) {
		t.Errorf("update: calls %v, want %v", bus.calls, want)
	}
	wantFiles(t, root, map[string]string{"system.slice/nook-web.scope/pids.max": "10"})

	bus.calls = nil
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	if want := []string{"stop nook-web.scope", "reset-failed nook-web.scope"}; !slices.Equal(bus.calls, want) {
		t.Errorf("destroy: calls %v, want %v", bus.calls, want)
	}
	if _, err := os.Stat(root + "/system.slice/nook-web.scope"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the unit's cgroup is left: %v", err)
	}
}

func TestSystemdManagerStartFails(t *testing.T) {
	m, bus, root, rec := newFakeSystemd(t, "")
	bus.startErr = errors.New("Unit nook-web.scope already exists.")
	if err := m.Create(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(64 * mib)}}); err != nil {
		t.Fatal(err)
	}
	err := m.Apply(1)
	if err == nil || !strings.Contains(err.Error(), "starting systemd unit nook-web.scope: Unit nook-web.scope already exists.") {
		t.Errorf("Apply: %v", err)
	}
	if w := rec.written(root); len(w) != 0 {
		t.Errorf("wrote %v after a failed start", w)
	}
	// the unit is someone else's: Destroy leaves it alone
	bus.calls = nil
	if err := m.Destroy(); err != nil || len(bus.calls) != 0 {
		t.Errorf("Destroy after a failed start: %v, calls %v", err, bus.calls)
	}
	// a bad resource is refused at Create, before any unit exists
	if err := m.Create(&specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "x"}}); err == nil {
		t.Error("Create with cpus x: no error")
	}
}
