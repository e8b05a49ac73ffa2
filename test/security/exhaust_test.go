package security

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func i64(v int64) *int64 { return &v }

// TestForkBomb runs a fork bomb under pids.limit=20: it hits the limit and
// the host can still start processes (checked by cleanup).
func TestForkBomb(t *testing.T) {
	e := newEnv(t).args("/probe", "forkbomb", "200", "2")
	e.spec.Linux.Resources.Pids = &specs.LinuxPids{Limit: 20}
	r := e.run()
	var out struct {
		Started, Failed int
		FirstError      string
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("decoding: %v: %s", err, r)
	}
	t.Logf("fork bomb: %+v", out)
	if out.Started >= 20 || out.Failed == 0 {
		t.Errorf("HOLE: the fork bomb was not held by pids.limit=20: %+v", out)
	}
}

// TestMemoryHog allocates 200 MiB under a 50 MiB limit: OOM-killed (137).
func TestMemoryHog(t *testing.T) {
	e := newEnv(t).args("/probe", "memhog", "200")
	e.spec.Linux.Resources.Memory = &specs.LinuxMemory{Limit: i64(50 << 20), Swap: i64(50 << 20)}
	r := e.run()
	if r.code != 137 {
		t.Errorf("HOLE: the memory hog was not OOM-killed (want exit 137): %s", r)
	}
}

// TestCPUBurner spins 2 s under a 20% quota: it gets well under its share.
func TestCPUBurner(t *testing.T) {
	e := newEnv(t).args("/probe", "spin", "60")
	e.spec.Linux.Resources.CPU = &specs.LinuxCPU{Quota: i64(20000), Period: func() *uint64 { v := uint64(100000); return &v }()}
	e.detached()
	// The cgroup's own CPU accounting, through `events --stats`: the same
	// on cgroup v1 and v2, and independent of the guest's rusage clock.
	usage := func() (float64, time.Time) {
		r := e.mustRT("events", "--stats", e.id)
		var ev struct {
			Data struct {
				CPU struct {
					Usage struct{ Total uint64 }
				}
			}
		}
		if err := json.Unmarshal([]byte(r.stdout), &ev); err != nil {
			t.Fatalf("events --stats: %v: %s", err, r)
		}
		return float64(ev.Data.CPU.Usage.Total) / 1e9, time.Now()
	}
	time.Sleep(300 * time.Millisecond)
	c0, t0 := usage()
	time.Sleep(2 * time.Second)
	c1, t1 := usage()
	ratio := (c1 - c0) / t1.Sub(t0).Seconds()
	t.Logf("cpu burner under quota 20000/100000: %.2f cores", ratio)
	if ratio > 0.3 {
		t.Errorf("HOLE: the CPU burner used %.2f cores under a 20%% quota", ratio)
	}
	e.mustRT("delete", "--force", e.id)
}

// TestTmpfsFull fills a size=1m tmpfs: ENOSPC at 1 MiB, and the host's /tmp
// gets nothing.
func TestTmpfsFull(t *testing.T) {
	e := newEnv(t)
	e.spec.Mounts = append(e.spec.Mounts, specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "size=1m"}})
	name := "nook-sec-big-" + e.id
	r := e.sh("dd if=/dev/zero of=/tmp/" + name + " bs=64k count=64; echo SIZE:$(wc -c < /tmp/" + name + ")").run()
	t.Logf("container: %s", r)
	if !strings.Contains(r.stderr, "No space left") {
		t.Errorf("filling the 1m tmpfs did not end in ENOSPC: %s", r)
	}
	if strings.Contains(r.stdout, "SIZE:4194304") {
		t.Errorf("HOLE: 4 MiB went into a 1 MiB tmpfs: %s", r)
	}
	if _, err := os.Stat("/tmp/" + name); err == nil {
		os.Remove("/tmp/" + name)
		t.Errorf("HOLE: the file landed in the host's /tmp")
	}
}

// TestOpenFiles sets RLIMIT_NOFILE to 64 and opens fds in a loop: the shell
// stops below 64, and raising the hard limit is refused.
func TestOpenFiles(t *testing.T) {
	e := newEnv(t)
	e.spec.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 64, Soft: 64}}
	r := e.sh(`ulimit -n 4096 2>/dev/null && echo OK:raise; echo LIMIT:$(ulimit -n); i=3; while [ $i -lt 100 ]; do eval "exec $i</CONTAINER_MARKER" && echo FD:$i; i=$((i+1)); done`).run()
	t.Logf("container: exit %d, stderr %s", r.code, r.stderr)
	if ranOK(r, "raise") {
		t.Errorf("HOLE: the hard RLIMIT_NOFILE was raised from inside")
	}
	if !strings.Contains(r.stdout, "LIMIT:64\n") {
		t.Errorf("ulimit -n is not 64: %s", r)
	}
	if strings.Contains(r.stdout, "FD:64\n") {
		t.Errorf("HOLE: fd 64 opened under RLIMIT_NOFILE=64")
	}
}
