package cgroups

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// rootManager makes a manager for /nook/test-<random> on the real host,
// skipping unless we are root on a host of one of the given modes. The
// cleanup kills nothing but the test's own child and removes the
// directories even when the test fails half way.
func rootManager(t *testing.T, modes ...Mode) (Manager, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if mode := DetectMode(); !slices.Contains(modes, mode) {
		t.Skipf("host runs cgroup %v", mode)
	}
	b := make([]byte, 6)
	rand.Read(b)
	id := "test-" + hex.EncodeToString(b)
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m, err := New("", id, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Destroy(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		for _, dir := range m.Paths() {
			if _, err := os.Stat(dir); err == nil {
				t.Errorf("cgroup %s left behind", dir)
				unix.Rmdir(dir)
			}
		}
	})
	return m, id
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p[:len(p)-1]))
	return len(p), nil
}

// startSleep starts a child to move into the cgroup and arranges to kill
// it, by its pid only, before the cgroup is destroyed.
func startSleep(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "5")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopChild(cmd) })
	return cmd
}

func stopChild(cmd *exec.Cmd) {
	if cmd.ProcessState == nil {
		cmd.Process.Kill()
		cmd.Wait()
	}
}

// wantInCgroup checks /proc/PID/cgroup against the manager's paths.
func wantInCgroup(t *testing.T, pid int, id string, keys ...string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cgroup"))
	if err != nil {
		t.Fatal(err)
	}
	cg, err := parseProcCgroup(string(data))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if cg[k] != "/nook/"+id {
			t.Errorf("/proc/%d/cgroup: %q is %q, want /nook/%s", pid, k, cg[k], id)
		}
	}
}

func wantValue(t *testing.T, dir, file, want string) {
	t.Helper()
	got, err := readFile(dir, file)
	if err != nil {
		t.Error(err)
	} else if got != want {
		t.Errorf("%s/%s = %q, want %q", dir, file, got, want)
	}
}

// checkRun does what every root test does after reading the limits back:
// Pids, Stats, Freeze, then kill the child and Destroy.
func checkRun(t *testing.T, m Manager, cmd *exec.Cmd, freezeFile, frozen, thawed string) {
	t.Helper()
	pid := cmd.Process.Pid
	if pids, err := m.Pids(); err != nil || !slices.Contains(pids, pid) {
		t.Errorf("Pids() = %v, %v; want %d in it", pids, err, pid)
	}
	// Memory and CPU use may read 0: v1 does not move charges made
	// before Apply (memory.move_charge_at_immigrate), and sleep is idle.
	st, err := m.Stats()
	if err != nil {
		t.Error(err)
	} else if st.MemoryLimit != 50*mib || st.PidsLimit != 20 || st.PidsCurrent < 1 {
		t.Errorf("Stats() = %+v", *st)
	}
	if err := m.Freeze(true); err != nil {
		t.Error(err)
	}
	wantValue(t, freezeFile, "", frozen)
	if err := m.Freeze(false); err != nil {
		t.Error(err)
	}
	wantValue(t, freezeFile, "", thawed)
	stopChild(cmd)
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	for _, dir := range m.Paths() {
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("%s still there after Destroy (%v)", dir, err)
		}
	}
	if err := m.Destroy(); err != nil {
		t.Errorf("second Destroy: %v", err)
	}
}

func TestRootV1(t *testing.T) {
	m, id := rootManager(t, Legacy, Hybrid)
	if err := m.Create(testResources()); err != nil {
		t.Fatal(err)
	}
	cmd := startSleep(t)
	if err := m.Apply(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	wantInCgroup(t, cmd.Process.Pid, id, "memory", "pids", "cpu", "cpuset", "freezer", "name=systemd")
	if DetectMode() == Hybrid {
		wantInCgroup(t, cmd.Process.Pid, id, "")
	}
	p := m.Paths()
	wantValue(t, p["memory"], "memory.limit_in_bytes", "52428800")
	wantValue(t, p["pids"], "pids.max", "20")
	wantValue(t, p["cpu"], "cpu.cfs_quota_us", "50000")
	wantValue(t, p["cpu"], "cpu.cfs_period_us", "100000")
	wantValue(t, p["cpuset"], "cpuset.cpus", "0")
	checkRun(t, m, cmd, filepath.Join(p["freezer"], "freezer.state"), "FROZEN", "THAWED")
	matches, _ := filepath.Glob(filepath.Join(DefaultRoot, "*", "nook", id))
	if len(matches) != 0 {
		t.Errorf("left behind: %v", matches)
	}
}

// TestRootV1Memsw checks the write order against the real kernel, which
// refuses memory.limit_in_bytes above memory.memsw.limit_in_bytes, and the
// blkio weight file probing.
func TestRootV1Memsw(t *testing.T) {
	m, _ := rootManager(t, Legacy, Hybrid)
	dir := m.Paths()["memory"]
	if err := m.Create(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(50 * mib), Swap: i64(60 * mib)}}); err != nil {
		t.Fatal(err)
	}
	if !exists(filepath.Join(dir, "memory.memsw.limit_in_bytes")) {
		t.Skip("no swap accounting")
	}
	for _, c := range []struct{ limit, swap int64 }{{200 * mib, 300 * mib}, {40 * mib, 45 * mib}, {-1, -1}, {10 * mib, 20 * mib}} {
		if err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(c.limit), Swap: i64(c.swap)}}); err != nil {
			t.Fatalf("limit %d, swap %d: %v", c.limit, c.swap, err)
		}
		if c.limit > 0 {
			wantValue(t, dir, "memory.limit_in_bytes", strconv.FormatInt(c.limit, 10))
			wantValue(t, dir, "memory.memsw.limit_in_bytes", strconv.FormatInt(c.swap, 10))
		}
	}
	err := m.Set(&specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: u16(300)}})
	if p := m.Paths()["blkio"]; exists(filepath.Join(p, "blkio.weight")) || exists(filepath.Join(p, "blkio.bfq.weight")) {
		if err != nil {
			t.Errorf("blkio weight: %v", err)
		}
	} else {
		wantErr(t, err, "blkio weight: not supported by this kernel")
	}
}

func TestRootV2(t *testing.T) {
	m, id := rootManager(t, Unified)
	if err := m.Create(testResources()); err != nil {
		t.Fatal(err)
	}
	cmd := startSleep(t)
	if err := m.Apply(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	wantInCgroup(t, cmd.Process.Pid, id, "")
	dir := m.Paths()[""]
	wantValue(t, dir, "memory.max", "52428800")
	wantValue(t, dir, "pids.max", "20")
	wantValue(t, dir, "cpu.max", "50000 100000")
	wantValue(t, dir, "cpuset.cpus", "0")
	checkRun(t, m, cmd, filepath.Join(dir, "cgroup.freeze"), "1", "0")
	if _, err := os.Stat(filepath.Join(DefaultRoot, "nook", id)); !os.IsNotExist(err) {
		t.Errorf("/nook/%s left behind", id)
	}
}
