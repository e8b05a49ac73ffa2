package engine

import (
	"testing"

	"github.com/nook-containers/nook/test/probe/report"
)

// TestLimits: --memory, --pids-limit, --cpus and --ulimit as the process
// sees them in its cgroup and rlimits, and as inspect reports them.
func TestLimits(t *testing.T) {
	needProbe(t)
	e := newEngine(t)
	_, ref := pushBusybox(t, "probe")
	rep := probeReport(t, e, ref, "--memory", "64m", "--pids-limit", "50", "--cpus", "0.5", "--ulimit", "nofile=1024:2048")

	lim := rep.Cgroup.Limits
	want := map[string][]string{ // v2 file and v1 file, want
		"memory": {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes", "67108864"},
		"pids":   {"/sys/fs/cgroup/pids.max", "/sys/fs/cgroup/pids/pids.max", "50"},
		"cpu":    {"/sys/fs/cgroup/cpu.max", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "50000 100000"},
	}
	for what, w := range want {
		v2, ok2 := lim[w[0]]
		v1, ok1 := lim[w[1]]
		switch {
		case ok2:
			if v2 != w[2] {
				t.Errorf("%s: %s is %q, want %q", what, w[0], v2, w[2])
			}
		case ok1:
			if what == "cpu" {
				v1 += " " + lim["/sys/fs/cgroup/cpu/cpu.cfs_period_us"]
			}
			if v1 != w[2] {
				t.Errorf("%s: %s is %q, want %q", what, w[1], v1, w[2])
			}
		default:
			t.Errorf("%s: no limit file visible in the container (is /sys/fs/cgroup mounted?); cgroup %v, errors %v", what, rep.Cgroup, rep.Errors)
		}
	}
	if got := rep.Rlimits["RLIMIT_NOFILE"]; got != (report.Rlimit{1024, 2048}) {
		t.Errorf("--ulimit nofile=1024:2048: RLIMIT_NOFILE %v", got)
	}

	// The other resource flags are accepted and the container runs.
	if r := e.nook("run", "--rm", "--memory", "64m", "--memory-swap", "128m", "--cpu-shares", "512", "--cpuset-cpus", "0", ref, "true"); r.Code != 0 {
		t.Errorf("--memory-swap --cpu-shares --cpuset-cpus: %s", r)
	}
}

// TestMemoryOOM: a process over --memory is OOM-killed: exit 137 and
// .State.OOMKilled.
func TestMemoryOOM(t *testing.T) {
	needProbe(t)
	e := newEngine(t)
	_, ref := pushBusybox(t, "probe")
	r := e.nook("run", "--name", "hog", "--memory", "32m", "--memory-swap", "32m", ref, "/probe", "memhog", "200")
	if r.Code != 137 {
		t.Errorf("memhog 200 MiB under --memory 32m: want exit 137, got %s", r)
	}
	if c := e.inspect("hog"); !c.State.OOMKilled {
		t.Errorf(".State.OOMKilled is false: %+v", c.State)
	}
}
