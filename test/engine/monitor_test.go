package engine

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// resolvedBin is path with its symlinks resolved, as /proc/PID/exe shows it.
func resolvedBin(path string) string {
	if p, err := filepath.EvalSymlinks(path); err == nil {
		return p
	}
	return path
}

// leanMonitorBin is the lean monitor the engine hands running containers
// to: nook-monitor next to the nook binary.
func leanMonitorBin() string {
	return filepath.Join(filepath.Dir(resolvedBin(nookBin)), "nook-monitor")
}

// exeOf is /proc/PID/exe.
func exeOf(pid int) string {
	exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	return strings.TrimSuffix(exe, " (deleted)")
}

// smapsRollup reads a field of /proc/PID/smaps_rollup, in KiB.
func smapsRollup(t *testing.T, pid int, field string) int {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) >= 2 && fs[0] == field+":" {
			n, _ := strconv.Atoi(fs[1])
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/smaps_rollup", field, pid)
	return 0
}

// waitLean waits until container name's monitor is the lean monitor and
// returns its pid.
func waitLean(t *testing.T, e *engine, name string) int {
	t.Helper()
	var mon int
	waitFor(t, name+"'s monitor to be "+leanMonitorBin(), func() (bool, string) {
		c := e.inspect(name)
		mon = c.State.MonitorPid
		exe := exeOf(mon)
		return mon > 1 && exe == leanMonitorBin(), fmt.Sprintf("%s, monitor %d is %q", c.State.Status, mon, exe)
	})
	return mon
}

// TestLeanMonitor: a running container is watched by the small
// bin/nook-monitor (the full monitor execs it once the container runs), at
// well under the full binary's memory, and logs, logs -f, stop, the
// restart policy, --rm and attached runs work through it.
func TestLeanMonitor(t *testing.T) {
	if _, err := os.Stat(leanMonitorBin()); err != nil {
		t.Skipf("no lean monitor: %v", err)
	}
	e := newEngine(t)
	e.runD("--name", "lean", builtin, "sh", "-c", "echo out; echo err >&2; i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.2; done")
	mon := waitLean(t, e, "lean")
	c := e.inspect("lean")

	// Still the init's parent: execve kept the pid.
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.State.Pid)); err != nil || !strings.Contains(string(b), fmt.Sprintf("\nPPid:\t%d\n", mon)) {
		t.Errorf("the container's init %d is not the monitor %d's child: %v", c.State.Pid, mon, err)
	}
	if anon := smapsRollup(t, mon, "Pss_Anon"); anon >= 1536 {
		t.Errorf("lean monitor Pss_Anon %d KiB, want under 1.5 MiB", anon)
	} else {
		t.Logf("lean monitor %d: Pss %d KiB, Pss_Anon %d KiB", mon, smapsRollup(t, mon, "Pss"), anon)
	}

	// logs (both streams), and logs -f while it runs.
	waitFor(t, "logs to show the output", func() (bool, string) {
		r := e.nook("logs", "lean")
		return strings.HasPrefix(r.Stdout, "out\ntick 1\n") && r.Stderr == "err\n", r.String()
	})
	_, buf := e.background("logs", "-f", "--tail", "0", "lean")
	waitFor(t, "logs -f to follow new lines", func() (bool, string) {
		return strings.Count(buf.String(), "tick") >= 2, buf.String()
	})

	// stop: the lean monitor reaps the init and execs the full one back,
	// which records the exit.
	e.must("stop", "-t", "1", "lean")
	c = e.inspect("lean")
	if c.State.Status != "exited" || c.State.ExitCode != 137 {
		t.Errorf("after stop: %s, exit %d; want exited, 137", c.State.Status, c.State.ExitCode)
	}
	waitFor(t, "the monitor to exit", func() (bool, string) {
		_, ok := startTime(mon)
		return !ok, exeOf(mon)
	})

	// on-failure:2, each run handed to the lean monitor (it execs the full
	// monitor back to restart).
	e.runD("--name", "flaky", "--restart", "on-failure:2", builtin, "sh", "-c", "sleep 0.5; echo run; exit 3")
	waitLean(t, e, "flaky")
	waitFor(t, "two restarts and exited", func() (bool, string) {
		c = e.inspect("flaky")
		return c.State.Status == "exited" && c.RestartCount >= 2, fmt.Sprintf("%s, %d restarts", c.State.Status, c.RestartCount)
	})
	if c.RestartCount != 2 || c.State.ExitCode != 3 {
		t.Errorf("RestartCount %d, ExitCode %d; want 2 and 3", c.RestartCount, c.State.ExitCode)
	}
	if got := e.must("logs", "flaky"); got != "run\nrun\nrun" {
		t.Errorf("logs of three runs: %q", got)
	}

	// --rm: removed once it exits.
	e.runD("--rm", "--name", "gone", builtin, "sleep", "0.5")
	waitLean(t, e, "gone")
	waitFor(t, "the --rm container to be removed", func() (bool, string) {
		r := e.nook("inspect", "gone")
		return r.Code != 0, r.Stdout
	})

	// Attached: output and exit code through the lean monitor.
	start := time.Now()
	r := e.nook("run", "--rm", builtin, "sh", "-c", "sleep 0.3; echo out; echo err >&2; exit 7")
	if r.Code != 7 || r.Stdout != "out\n" || r.Stderr != "err\n" {
		t.Errorf("attached run: %s", r)
	}
	t.Logf("attached run took %v", time.Since(start))

	// A lean monitor killed with SIGKILL is found lost (its recorded pid
	// and start time are the full monitor's: execve keeps both), and
	// rm -f does its last duties.
	e.runD("--name", "orphan", builtin, "sleep", "1000")
	mon = waitLean(t, e, "orphan")
	if err := unix.Kill(mon, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "ps to show the monitor lost", func() (bool, string) {
		out := e.must("ps", "-a")
		return strings.Contains(out, "(monitor lost)"), out
	})
	e.must("rm", "-f", "orphan")
}
