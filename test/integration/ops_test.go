package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nook-containers/nook/test/nooktest"
)

// cgroupFile is a file of the container's default cgroup on this host: ctrl
// names the v1 hierarchy and is ignored on v2.
func cgroupFile(id, ctrl, file string) string {
	if nooktest.Cgroup2() {
		return filepath.Join("/sys/fs/cgroup/nook", id, file)
	}
	return filepath.Join("/sys/fs/cgroup", ctrl, "nook", id, file)
}

func readCgroup(t *testing.T, id, ctrl, file string) string {
	t.Helper()
	data, err := os.ReadFile(cgroupFile(id, ctrl, file))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

// cpuSeconds is the CPU time the container's cgroup has used.
func cpuSeconds(t *testing.T, id string) float64 {
	t.Helper()
	if nooktest.Cgroup2() {
		for _, l := range strings.Split(readCgroup(t, id, "", "cpu.stat"), "\n") {
			if v, ok := strings.CutPrefix(l, "usage_usec "); ok {
				n, _ := strconv.ParseFloat(v, 64)
				return n / 1e6
			}
		}
		t.Fatal("no usage_usec in cpu.stat")
	}
	n, _ := strconv.ParseFloat(readCgroup(t, id, "cpuacct", "cpuacct.usage"), 64)
	return n / 1e9
}

// TestOpsPs: ps -f json lists the init's host pid; the table keeps ps's
// header and the rows of the container's processes only.
func TestOpsPs(t *testing.T) {
	e := newEnv(t).args("/probe", "sleep", "60")
	e.writeSpec()
	e.mustRT("run", "-d", e.id)
	pid := e.state().Pid

	var pids []int
	r := e.mustRT("ps", "-f", "json", e.id)
	if err := json.Unmarshal([]byte(r.stdout), &pids); err != nil {
		t.Fatalf("ps -f json: %v: %s", err, r)
	}
	if !slices.Contains(pids, pid) {
		t.Errorf("ps -f json = %v, want the init's pid %d in it", pids, pid)
	}

	r = e.mustRT("ps", e.id)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 1+len(pids) || !strings.Contains(lines[0], "PID") {
		t.Fatalf("ps table: want a header and %d rows:\n%s", len(pids), r.stdout)
	}
	if f := strings.Fields(lines[1]); len(f) < 2 || f[1] != strconv.Itoa(pid) || !strings.Contains(lines[1], "probe") {
		t.Errorf("ps -ef row %q, want pid %d running the probe", lines[1], pid)
	}
	// Everything after the id goes to ps.
	r = e.mustRT("ps", e.id, "-o", "pid,comm")
	if !strings.Contains(r.stdout, strconv.Itoa(pid)) || strings.Contains(r.stdout, "UID") {
		t.Errorf("ps ID -o pid,comm:\n%s", r.stdout)
	}
	if r := e.rt("ps", "-f", "yaml", e.id); r.code == 0 {
		t.Errorf("ps -f yaml succeeded: %s", r)
	}
}

// TestOpsPauseResume: pause freezes the container (state "paused", no CPU
// used by a busy loop), resume thaws it.
func TestOpsPauseResume(t *testing.T) {
	e := newEnv(t).args("/probe", "spin", "60")
	e.writeSpec()
	e.mustRT("run", "-d", e.id)
	// Runs before e.cleanup: on v1 a frozen process cannot die.
	t.Cleanup(func() { e.rt("resume", e.id) })
	time.Sleep(200 * time.Millisecond)

	e.mustRT("pause", e.id)
	if s := e.state(); s.Status != "paused" {
		t.Fatalf("after pause: status %q, want paused (is the frozen() hook in Container.refresh?)", s.Status)
	}
	if r := e.rt("pause", e.id); r.code == 0 || !strings.Contains(r.stderr, "container not running") {
		t.Errorf("pausing a paused container: %s", r)
	}
	c0 := cpuSeconds(t, e.id)
	time.Sleep(500 * time.Millisecond)
	if d := cpuSeconds(t, e.id) - c0; d > 0.02 {
		t.Errorf("paused busy loop used %.3f s of CPU in 0.5 s", d)
	}

	e.mustRT("resume", e.id)
	if s := e.state(); s.Status != "running" {
		t.Fatalf("after resume: status %q, want running", s.Status)
	}
	if r := e.rt("resume", e.id); r.code == 0 || !strings.Contains(r.stderr, "container not paused") {
		t.Errorf("resuming a running container: %s", r)
	}
	c0 = cpuSeconds(t, e.id)
	time.Sleep(500 * time.Millisecond)
	if d := cpuSeconds(t, e.id) - c0; d < 0.1 {
		t.Errorf("resumed busy loop used only %.3f s of CPU in 0.5 s", d)
	}
}

// TestOpsPauseStopped: only a live container can be paused.
func TestOpsPauseStopped(t *testing.T) {
	e := newEnv(t).args("true")
	e.writeSpec()
	e.mustRT("run", "-d", e.id)
	waitStatus(t, e, "stopped")
	if r := e.rt("pause", e.id); r.code == 0 || !strings.Contains(r.stderr, "container not running") {
		t.Errorf("pausing a stopped container: %s", r)
	}
	if r := e.rt("events", "--stats", e.id); r.code == 0 || !strings.Contains(r.stderr, "not running") {
		t.Errorf("events of a stopped container: %s", r)
	}
}

// TestOpsUpdate: update writes the new limits into the cgroup, from flags
// and from --resources, and changing one half of cpu.max keeps the other.
func TestOpsUpdate(t *testing.T) {
	e := newEnv(t).args("/probe", "sleep", "60")
	e.spec.Linux.Resources = &specs.LinuxResources{
		Pids: &specs.LinuxPids{Limit: 100},
		CPU:  &specs.LinuxCPU{Quota: i64(50000), Period: u64(200000)},
	}
	e.writeSpec()
	e.mustRT("run", "-d", e.id)

	e.mustRT("update", "--pids-limit", "7", "--memory", "64m", e.id)
	if v := readCgroup(t, e.id, "pids", "pids.max"); v != "7" {
		t.Errorf("pids.max = %s after update --pids-limit 7", v)
	}
	memFile := "memory.limit_in_bytes"
	if nooktest.Cgroup2() {
		memFile = "memory.max"
	}
	if v := readCgroup(t, e.id, "memory", memFile); v != "67108864" {
		t.Errorf("%s = %s after update --memory 64m", memFile, v)
	}

	e.mustRT("update", "--cpu-quota", "30000", e.id)
	if nooktest.Cgroup2() {
		if v := readCgroup(t, e.id, "", "cpu.max"); v != "30000 200000" {
			t.Errorf("cpu.max = %q after update --cpu-quota 30000, want the period kept: 30000 200000", v)
		}
	} else {
		q, p := readCgroup(t, e.id, "cpu", "cpu.cfs_quota_us"), readCgroup(t, e.id, "cpu", "cpu.cfs_period_us")
		if q != "30000" || p != "200000" {
			t.Errorf("quota/period = %s/%s after update --cpu-quota 30000, want 30000/200000", q, p)
		}
	}

	r := e.rtIn([]byte(`{"pids": {"limit": 9}}`), "update", "--resources", "-", e.id)
	if r.code != 0 {
		t.Fatalf("update --resources -: %s", r)
	}
	if v := readCgroup(t, e.id, "pids", "pids.max"); v != "9" {
		t.Errorf("pids.max = %s after update --resources with limit 9", v)
	}
	if r := e.rt("update", "--memory", "lots", e.id); r.code == 0 || !strings.Contains(r.stderr, "invalid") {
		t.Errorf("update --memory lots: %s", r)
	}
}

// statsEvent is the part of runc's events JSON the tests look at.
type statsEvent struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Data *struct {
		CPU struct {
			Usage struct {
				Total uint64 `json:"total"`
			} `json:"usage"`
		} `json:"cpu"`
		Memory struct {
			Usage struct {
				Usage uint64 `json:"usage"`
				Limit uint64 `json:"limit"`
			} `json:"usage"`
		} `json:"memory"`
		Pids struct {
			Current uint64 `json:"current"`
			Limit   uint64 `json:"limit"`
		} `json:"pids"`
	} `json:"data"`
}

// TestOpsEvents: events --stats prints one stats line in runc's shape.
func TestOpsEvents(t *testing.T) {
	e := newEnv(t).args("/probe", "sleep", "60")
	e.spec.Linux.Resources = &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: i64(128 << 20)},
		Pids:   &specs.LinuxPids{Limit: 50},
	}
	e.writeSpec()
	e.mustRT("run", "-d", e.id)
	r := e.mustRT("events", "--stats", e.id)
	var ev statsEvent
	if err := json.Unmarshal([]byte(r.stdout), &ev); err != nil {
		t.Fatalf("events --stats: %v: %s", err, r)
	}
	if ev.Type != "stats" || ev.ID != e.id || ev.Data == nil {
		t.Fatalf("events --stats: %s", r.stdout)
	}
	d := ev.Data
	if d.Memory.Usage.Usage == 0 || d.Memory.Usage.Limit != 128<<20 {
		t.Errorf("memory usage %d, limit %d; want > 0 and 128 MiB", d.Memory.Usage.Usage, d.Memory.Usage.Limit)
	}
	if d.Pids.Current == 0 || d.Pids.Limit != 50 || d.CPU.Usage.Total == 0 {
		t.Errorf("pids %d/%d, cpu %d: %s", d.Pids.Current, d.Pids.Limit, d.CPU.Usage.Total, r.stdout)
	}
}

// TestOpsEventsStream: without --stats, events prints stats lines and an
// oom event when a process in the container is OOM-killed, and exits when
// the container stops.
func TestOpsEventsStream(t *testing.T) {
	e := newEnv(t).args("sh", "-c", "sleep 2; /probe memhog 200; sleep 1")
	e.spec.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(50 << 20), Swap: i64(50 << 20)}}
	e.writeSpec()
	e.mustRT("run", "-d", e.id)
	start := time.Now()
	r := e.mustRT("events", "--interval", "500ms", e.id)
	if time.Since(start) < time.Second {
		t.Errorf("events returned after %v, before the container stopped", time.Since(start))
	}
	var stats, ooms int
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var ev statsEvent
		if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.ID != e.id {
			t.Fatalf("events line %q: %v", line, err)
		}
		switch ev.Type {
		case "stats":
			stats++
		case "oom":
			ooms++
		default:
			t.Errorf("unknown event type %q", ev.Type)
		}
	}
	if stats == 0 || ooms == 0 {
		t.Errorf("%d stats and %d oom events, want some of each:\n%s", stats, ooms, r)
	}
}
