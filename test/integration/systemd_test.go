package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nook-containers/nook/test/nooktest"
)

// The systemd cgroup driver (--systemd-cgroup) runs where systemd is PID 1:
// `make test-systemd` boots a VM so (these machines have no systemd), with
// NOOK_WANT_SYSTEMD=1, so that a missing systemd fails instead of skipping.

func needSystemd(t *testing.T) {
	t.Helper()
	needRoot(t)
	nooktest.RequireSystemd(t)
}

// cgroupFile reads a file of the container's cgroup: the unified one, or
// the v1 hierarchy of its controller.
func unitCgroupFile(t *testing.T, rel, v2file, v1file string) string {
	t.Helper()
	p := filepath.Join("/sys/fs/cgroup", rel, v2file)
	if !nooktest.Cgroup2() {
		c, _, _ := strings.Cut(v1file, ".")
		p = filepath.Join("/sys/fs/cgroup", c, rel, v1file)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("reading the container's cgroup: %v", err)
	}
	return strings.TrimSpace(string(data))
}

func systemdEnv(t *testing.T) (*env, string, string) {
	e := newEnv(t)
	unit := "nook-it-" + e.id + ".scope"
	e.spec.Linux.CgroupsPath = "system.slice:nook-it:" + e.id
	mem, quota, period := int64(64<<20), int64(50000), uint64(100000)
	e.spec.Linux.Resources = &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: &mem},
		CPU:    &specs.LinuxCPU{Quota: &quota, Period: &period},
		Pids:   &specs.LinuxPids{Limit: 50},
	}
	e.args("sleep", "300")
	e.writeSpec()
	return e, unit, "/system.slice/" + unit
}

// TestSystemdCgroup: the container's cgroup is a transient scope in the
// slice cgroupsPath names, with Delegate=yes and the limits as unit
// properties (so that a daemon-reload keeps them), init and exec'd
// processes in it; update changes both the unit and the files; pause,
// resume; delete stops the unit and nothing is left.
func TestSystemdCgroup(t *testing.T) {
	needSystemd(t)
	e, unit, rel := systemdEnv(t)
	e.mustRT("--systemd-cgroup", "create", e.id)
	pid := e.state().Pid

	p := nooktest.UnitProps(t, unit, "ActiveState", "ControlGroup", "Slice", "Delegate", "MemoryMax", "MemoryLimit",
		"TasksMax", "CPUQuotaPerSecUSec", "DefaultDependencies")
	mem := p["MemoryMax"]
	if !nooktest.Cgroup2() {
		mem = p["MemoryLimit"]
	}
	for k, want := range map[string]string{"ActiveState": "active", "ControlGroup": rel, "Slice": "system.slice",
		"Delegate": "yes", "TasksMax": "50", "CPUQuotaPerSecUSec": "500ms", "DefaultDependencies": "no"} {
		if p[k] != want {
			t.Errorf("unit %s: %s=%s, want %s", unit, k, p[k], want)
		}
	}
	if mem != "67108864" {
		t.Errorf("unit %s: memory limit %s, want 67108864 (%v)", unit, mem, p)
	}
	procCg, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if !strings.Contains(string(procCg), ":"+rel+"\n") {
		t.Errorf("init (pid %d) is not in %s:\n%s", pid, rel, procCg)
	}
	if got := unitCgroupFile(t, rel, "memory.max", "memory.limit_in_bytes"); got != "67108864" {
		t.Errorf("memory limit file: %s", got)
	}
	if got := unitCgroupFile(t, rel, "pids.max", "pids.max"); got != "50" {
		t.Errorf("pids.max: %s", got)
	}

	e.mustRT("start", e.id)
	if out := e.mustRT("exec", e.id, "cat", "/proc/self/cgroup").stdout; !strings.Contains(out, "/") {
		t.Errorf("exec: %q", out)
	}
	// exec'd processes join the scope (seen from the host: the container
	// has its own cgroup namespace only if the spec asks)
	ps := e.mustRT("ps", "-f", "json", e.id).stdout
	var pids []int
	json.Unmarshal([]byte(ps), &pids)
	if len(pids) == 0 {
		t.Errorf("ps -f json: %q", ps)
	}

	e.mustRT("update", "--memory", "128m", "--pids-limit", "20", e.id)
	p = nooktest.UnitProps(t, unit, "MemoryMax", "MemoryLimit", "TasksMax")
	mem = p["MemoryMax"]
	if !nooktest.Cgroup2() {
		mem = p["MemoryLimit"]
	}
	if mem != "134217728" || p["TasksMax"] != "20" {
		t.Errorf("after update: unit %v, want memory 134217728 and TasksMax 20", p)
	}
	// systemd re-applies a unit's properties on daemon-reload: the limits
	// must survive it, which they do only if the unit has them too.
	if out, err := exec.Command("systemctl", "daemon-reload").CombinedOutput(); err != nil {
		t.Fatalf("daemon-reload: %v: %s", err, out)
	}
	if got := unitCgroupFile(t, rel, "memory.max", "memory.limit_in_bytes"); got != "134217728" {
		t.Errorf("memory limit after update and daemon-reload: %s, want 134217728", got)
	}
	if got := unitCgroupFile(t, rel, "pids.max", "pids.max"); got != "20" {
		t.Errorf("pids.max after update and daemon-reload: %s, want 20", got)
	}

	e.mustRT("pause", e.id)
	if s := e.state().Status; s != "paused" {
		t.Errorf("after pause: %s", s)
	}
	e.mustRT("resume", e.id)
	e.mustRT("kill", e.id, "KILL")
	waitStopped(t, e)
	e.mustRT("delete", e.id)
	if p := nooktest.UnitProps(t, unit, "LoadState", "ActiveState"); p["ActiveState"] == "active" || p["LoadState"] == "loaded" {
		t.Errorf("unit %s after delete: %v", unit, p)
	}
	for _, d := range []string{"/sys/fs/cgroup" + rel, "/sys/fs/cgroup/memory" + rel, "/sys/fs/cgroup/freezer" + rel} {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("cgroup %s left after delete", d)
		}
	}
}

func waitStopped(t *testing.T, e *env) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); e.state().Status != "stopped"; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("container %s did not stop", e.id)
		}
	}
}

// TestSystemdCgroupLikeRunc: the same bundle under runc --systemd-cgroup
// and nook-runtime --systemd-cgroup gives units with the same properties.
func TestSystemdCgroupLikeRunc(t *testing.T) {
	needSystemd(t)
	runc, err := exec.LookPath("runc")
	if err != nil {
		t.Skip("no runc to compare with")
	}
	e, unit, _ := systemdEnv(t)
	shares := uint64(512)
	e.spec.Linux.Resources.CPU.Shares = &shares
	props := []string{"ActiveState", "Slice", "Delegate", "MemoryMax", "MemoryLimit", "TasksMax",
		"CPUQuotaPerSecUSec", "CPUQuotaPeriodUSec", "CPUWeight", "CPUShares", "DefaultDependencies",
		"MemoryAccounting", "CPUAccounting", "TasksAccounting", "IOAccounting", "BlockIOAccounting"}

	e.spec.Linux.CgroupsPath = "system.slice:runc-it:" + e.id
	e.writeSpec()
	runcRoot := filepath.Join(e.dir, "runc-state")
	rc := exec.Command(runc, "--root", runcRoot, "--systemd-cgroup", "create", e.id)
	rc.Dir = e.bundle
	// a file, not a pipe: the container keeps runc's stdout open
	out, err := os.Create(filepath.Join(e.dir, "runc.out"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	rc.Stdout, rc.Stderr = out, out
	if err := rc.Run(); err != nil {
		data, _ := os.ReadFile(out.Name())
		t.Fatalf("runc create: %v: %s", err, data)
	}
	defer exec.Command(runc, "--root", runcRoot, "delete", "-f", e.id).Run()
	want := nooktest.UnitProps(t, "runc-it-"+e.id+".scope", props...)

	e.spec.Linux.CgroupsPath = "system.slice:nook-it:" + e.id
	e.writeSpec()
	e.mustRT("--systemd-cgroup", "create", e.id)
	got := nooktest.UnitProps(t, unit, props...)
	for _, k := range props {
		if got[k] != want[k] {
			t.Errorf("%s: nook %q, runc %q", k, got[k], want[k])
		}
	}
	if out, err := exec.Command(runc, "--root", runcRoot, "delete", "-f", e.id).CombinedOutput(); err != nil {
		t.Errorf("runc delete: %v: %s", err, out)
	}
}

// TestSystemdCgroupErrors: a cgroupsPath not in the slice:prefix:name form
// is refused as runc words it, and a unit that exists already is refused;
// nothing is left behind, and the first container is unharmed.
func TestSystemdCgroupErrors(t *testing.T) {
	needSystemd(t)
	e, unit, _ := systemdEnv(t)
	e.spec.Linux.CgroupsPath = "/not/a/slice"
	e.writeSpec()
	r := e.rt("--systemd-cgroup", "run", "-d", e.id)
	if r.code == 0 || !strings.Contains(r.stderr, `expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups, got "/not/a/slice" instead`) {
		t.Errorf("bad cgroupsPath: %s", r)
	}
	if _, err := os.Stat(filepath.Join(e.root, e.id)); err == nil {
		t.Error("state dir left after a refused create")
	}

	e.spec.Linux.CgroupsPath = "system.slice:nook-it:" + e.id
	e.writeSpec()
	e.mustRT("--systemd-cgroup", "run", "-d", e.id)
	other := e.id + "-b"
	r = e.rt("--systemd-cgroup", "run", "-d", other)
	if r.code == 0 || !strings.Contains(r.stderr, unit) {
		t.Errorf("second container in the same unit: %s", r)
	}
	if _, err := os.Stat(filepath.Join(e.root, other)); err == nil {
		t.Error("state dir of the refused container left")
		e.rt("delete", "-f", other)
	}
	if s := e.state().Status; s != "running" {
		t.Errorf("the first container after the refused second: %s", s)
	}
	if p := nooktest.UnitProps(t, unit, "ActiveState"); p["ActiveState"] != "active" {
		t.Errorf("the first container's unit after the refused second: %v", p)
	}
}

// TestSystemdCgroupWithoutSystemd: on a host systemd does not run, the
// driver is a clear error and nothing is made.
func TestSystemdCgroupWithoutSystemd(t *testing.T) {
	needRoot(t)
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		t.Skip("systemd runs here")
	}
	e := newEnv(t)
	e.spec.Linux.CgroupsPath = "system.slice:nook-it:" + e.id
	e.writeSpec()
	r := e.rt("--systemd-cgroup", "run", e.id)
	if r.code == 0 || !strings.Contains(r.stderr, "systemd is not running on this host") {
		t.Errorf("--systemd-cgroup without systemd: %s", r)
	}
	if _, err := os.Stat(filepath.Join(e.root, e.id)); err == nil {
		t.Error("state dir left")
	}
}
