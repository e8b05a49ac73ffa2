package engine

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestLogs: logs, logs --tail 1 and logs -t of a finished container, and
// its stderr kept apart.
func TestLogs(t *testing.T) {
	e := newEngine(t)
	e.runD("--name", "talker", builtin, "sh", "-c", "echo one; echo two")
	// stdout and stderr are separate pipes: their relative order in the
	// log is not defined, so stderr has a container of its own.
	e.runD("--name", "grumbler", builtin, "sh", "-c", "echo err >&2")
	if got := e.must("wait", "talker"); got != "0" {
		t.Errorf("wait printed %q, want 0", got)
	}
	if got := e.must("wait", "grumbler"); got != "0" {
		t.Errorf("wait printed %q, want 0", got)
	}
	if r := e.nook("logs", "talker"); r.Code != 0 || r.Stdout != "one\ntwo\n" || r.Stderr != "" {
		t.Errorf("logs: want one, two on stdout, got %s", r)
	}
	if r := e.nook("logs", "grumbler"); r.Code != 0 || r.Stdout != "" || r.Stderr != "err\n" {
		t.Errorf("logs: want err on stderr, got %s", r)
	}
	if got := e.must("logs", "--tail", "1", "talker"); got != "two" {
		t.Errorf("logs --tail 1 printed %q, want two", got)
	}
	lines := strings.Split(e.must("logs", "-t", "talker"), "\n")
	if len(lines) != 2 {
		t.Fatalf("logs -t: %q", lines)
	}
	ts, rest, _ := strings.Cut(lines[0], " ")
	if _, err := time.Parse(time.RFC3339Nano, ts); err != nil || rest != "one" {
		t.Errorf("logs -t line %q: want an RFC 3339 time, a space, the line: %v", lines[0], err)
	}
}

// TestLogsFollow: logs -f prints what is there, then new lines as they
// come, and ends when the container does.
func TestLogsFollow(t *testing.T) {
	e := newEngine(t)
	e.runD("--name", "f", builtin, "sh", "-c", "echo one; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo three")
	cmd, out := e.background("logs", "-f", "f")
	waitFor(t, "logs -f to print one", func() (bool, string) { return strings.Contains(out.String(), "one\n"), out.String() })
	if strings.Contains(out.String(), "three") {
		t.Fatal("three before it was asked for")
	}
	e.must("exec", "f", "touch", "/tmp/go")
	waitFor(t, "logs -f to print three", func() (bool, string) { return strings.Contains(out.String(), "three\n"), out.String() })
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("logs -f: %v", err)
		}
	case <-time.After(patience):
		t.Error("logs -f did not end with the container")
	}
}

// TestExec: exec in a running container, with its code, env, workdir,
// user, stdin and detach.
func TestExec(t *testing.T) {
	e := newEngine(t)
	e.runD("--name", "x", builtin, "sleep", "1000")
	if got := e.must("exec", "x", "echo", "hi"); got != "hi" {
		t.Errorf("exec echo hi: %q", got)
	}
	if r := e.nook("exec", "x", "sh", "-c", "exit 4"); r.Code != 4 {
		t.Errorf("exec exit 4: %s", r)
	}
	if r := e.nook("exec", "x", "no-such-command"); r.Code != 127 {
		t.Errorf("exec of a missing command: want 127, got %s", r)
	}
	if got := e.must("exec", "-e", "FOO=bar", "-w", "/tmp", "-u", "1000", "x", "sh", "-c", "echo $FOO $(pwd) $(id -u)"); got != "bar /tmp 1000" {
		t.Errorf("exec -e -w -u: %q, want bar /tmp 1000", got)
	}
	if r := e.nookIn(strings.NewReader("piped\n"), "exec", "-i", "x", "cat"); r.Code != 0 || r.Stdout != "piped\n" {
		t.Errorf("exec -i cat: %s", r)
	}
	if got := e.must("exec", "x", "cat", "/proc/1/cmdline"); got != "sleep\x001000\x00" {
		t.Errorf("exec sees pid 1 as %q, want the container's sleep", got)
	}
	e.must("exec", "-d", "x", "sh", "-c", "sleep 0.1; touch /tmp/detached")
	waitFor(t, "exec -d to touch /tmp/detached", func() (bool, string) {
		r := e.nook("exec", "x", "test", "-e", "/tmp/detached")
		return r.Code == 0, r.String()
	})
	if out := e.must("top", "x"); !strings.Contains(out, "sleep") {
		t.Errorf("top does not show sleep:\n%s", out)
	}
}

// TestStats: stats --no-stream --format json reports the container.
func TestStats(t *testing.T) {
	e := newEngine(t)
	id := e.runD("--name", "busy", builtin, "sleep", "1000")
	r := e.nook("stats", "--no-stream", "--format", "json", "busy")
	if r.Code != 0 {
		t.Fatal(r)
	}
	line := strings.TrimSpace(r.Stdout)
	var v any
	if err := json.Unmarshal([]byte(line), &v); err != nil {
		t.Fatalf("stats --format json: %v\n%s", err, r.Stdout)
	}
	if !strings.Contains(line, "busy") && !strings.Contains(line, id[:12]) {
		t.Errorf("stats does not name the container: %s", line)
	}
	if !strings.Contains(strings.ToLower(line), "mem") {
		t.Errorf("stats has no memory figure: %s", line)
	}
}

// TestStopTimeout: stop sends SIGTERM, which a pid 1 without a handler
// ignores, waits -t seconds, then SIGKILLs.
func TestStopTimeout(t *testing.T) {
	e := newEngine(t)
	e.runD("--name", "stubborn", builtin, "sleep", "1000")
	start := time.Now()
	e.must("stop", "-t", "2", "stubborn")
	took := time.Since(start)
	if took < 1500*time.Millisecond {
		t.Errorf("stop -t 2 of a process ignoring SIGTERM took %v: it did not wait", took)
	}
	if took > 2*time.Second+patience/3 {
		t.Errorf("stop -t 2 took %v", took)
	}
	c := e.inspect("stubborn")
	if c.State.Status != "exited" || c.State.Running || c.State.ExitCode != 137 {
		t.Errorf("after stop: %+v, want exited with 137", c.State)
	}
	if c.State.FinishedAt == "" || strings.HasPrefix(c.State.FinishedAt, "0001") {
		t.Errorf("FinishedAt %q", c.State.FinishedAt)
	}
}

// TestStopGraceful: a process that handles SIGTERM stops at once with its
// own code.
func TestStopGraceful(t *testing.T) {
	e := newEngine(t)
	e.runD("--name", "polite", builtin, "sh", "-c", "trap 'exit 0' TERM; echo ready; while true; do sleep 0.05; done")
	waitFor(t, "the trap to be set", func() (bool, string) {
		r := e.nook("logs", "polite")
		return strings.Contains(r.Stdout, "ready"), r.String()
	})
	start := time.Now()
	e.must("stop", "-t", "60", "polite")
	if took := time.Since(start); took > patience/3 {
		t.Errorf("stop of a process that exits on SIGTERM took %v", took)
	}
	if c := e.inspect("polite"); c.State.Status != "exited" || c.State.ExitCode != 0 {
		t.Errorf("after stop: %+v, want exited with 0", c.State)
	}
}

// TestKillWaitRestart: kill, wait, start and restart of one container.
func TestKillWaitRestart(t *testing.T) {
	e := newEngine(t)
	e.runD("--name", "k", builtin, "sleep", "1000")
	before := e.inspect("k")
	e.must("kill", "k")
	if got := e.must("wait", "k"); got != "137" {
		t.Errorf("wait after kill printed %q, want 137", got)
	}
	e.must("start", "k")
	c := e.waitStatus("k", "running")
	if c.State.Pid == before.State.Pid {
		t.Errorf("start: the same pid %d", c.State.Pid)
	}
	e.must("restart", "k")
	after := e.waitStatus("k", "running")
	if after.State.Pid == c.State.Pid || after.State.StartedAt == c.State.StartedAt {
		t.Errorf("restart: pid %d -> %d, started %s -> %s", c.State.Pid, after.State.Pid, c.State.StartedAt, after.State.StartedAt)
	}
	e.must("kill", "-s", "TERM", "k") // ignored by pid 1
	e.must("kill", "-s", "KILL", "k")
	if got := e.must("wait", "k"); got != "137" {
		t.Errorf("wait after kill -s KILL printed %q", got)
	}

	e.runD("--name", "w", builtin, "sh", "-c", "exit 7")
	if got := e.must("wait", "w"); got != "7" {
		t.Errorf("wait printed %q, want 7", got)
	}
	if r := e.nook("start", "-a", "w"); r.Code != 7 {
		t.Errorf("start -a of a container that exits 7: %s", r)
	}
}

// TestPsFormatJSON: ps --format json, one object a line in Docker's
// shape.
func TestPsFormatJSON(t *testing.T) {
	e := newEngine(t)
	id := e.runD("--name", "listed", builtin, "sleep", "1000")
	e.must("create", "--name", "created", builtin, "true")
	r := e.nook("ps", "--format", "json")
	if r.Code != 0 {
		t.Fatal(r)
	}
	rows := psRows(t, r.Stdout)
	if len(rows) != 1 {
		t.Fatalf("ps (running only) has %d rows, want 1:\n%s", len(rows), r.Stdout)
	}
	row := rows[0]
	if row["Names"] != "listed" || !strings.HasPrefix(id, fmt.Sprint(row["ID"])) || row["State"] != "running" || row["Image"] != builtin {
		t.Errorf("ps row: %v", row)
	}
	if rows := psRows(t, e.must("ps", "-a", "--format", "json")); len(rows) != 2 {
		t.Errorf("ps -a has %d rows, want 2", len(rows))
	}
	if ids := strings.Fields(e.must("ps", "-aq")); len(ids) != 2 {
		t.Errorf("ps -aq: %v", ids)
	}
}

// psRows decodes ps --format json: a JSON object a line (Docker) or an
// array.
func psRows(t *testing.T, out string) []map[string]any {
	t.Helper()
	var rows []map[string]any
	if strings.HasPrefix(strings.TrimSpace(out), "[") {
		if err := json.Unmarshal([]byte(out), &rows); err != nil {
			t.Fatalf("ps --format json: %v\n%s", err, out)
		}
		return rows
	}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var row map[string]any
		if err := json.Unmarshal([]byte(l), &row); err != nil {
			t.Fatalf("ps --format json line %q: %v", l, err)
		}
		rows = append(rows, row)
	}
	return rows
}

// TestInspect: inspect's JSON has Docker's shape, and --format templates
// work on it.
func TestInspect(t *testing.T) {
	e := newEngine(t)
	id := e.runD("--name", "in", "--hostname", "h1", "-e", "K=V", "--memory", "64m", "--cpus", "0.5",
		"--pids-limit", "50", "--restart", "unless-stopped", builtin, "sleep", "1000")
	c := e.inspect("in")
	if c.ID != id || c.Name != "/in" {
		t.Errorf("Id %q Name %q, want %q /in", c.ID, c.Name, id)
	}
	if c.State.Status != "running" || !c.State.Running || c.State.Pid <= 0 || c.State.StartedAt == "" {
		t.Errorf("State: %+v", c.State)
	}
	if c.Config.Image != builtin || strings.Join(c.Config.Cmd, " ") != "sleep 1000" || c.Config.Hostname != "h1" {
		t.Errorf("Config: %+v", c.Config)
	}
	found := false
	for _, kv := range c.Config.Env {
		found = found || kv == "K=V"
	}
	if !found {
		t.Errorf("Config.Env has no K=V: %v", c.Config.Env)
	}
	h := c.HostConfig
	if h.Memory != 64<<20 || h.NanoCpus != 5e8 || h.PidsLimit == nil || *h.PidsLimit != 50 || h.RestartPolicy.Name != "unless-stopped" {
		t.Errorf("HostConfig: %+v (pids %v)", h, h.PidsLimit)
	}
	for format, want := range map[string]string{
		"{{.State.Status}}":      "running",
		"{{.Name}}":              "/in",
		"{{json .Config.Cmd}}":   `["sleep","1000"]`,
		"{{.HostConfig.Memory}}": "67108864",
	} {
		if got := e.must("inspect", "--format", format, "in"); got != want {
			t.Errorf("inspect --format %s: %q, want %q", format, got, want)
		}
	}
	if got := e.must("inspect", "--format", "{{.State.Pid}}", "in"); got != strconv.Itoa(c.State.Pid) {
		t.Errorf("{{.State.Pid}}: %q, want %d", got, c.State.Pid)
	}
}

// TestKilledMonitor: a container whose monitor was SIGKILLed is still
// listed, and rm -f removes it with its process and mounts.
func TestKilledMonitor(t *testing.T) {
	e := newEngine(t)
	id := e.runD("--name", "orphan", builtin, "sleep", "1000")
	c := e.inspect("orphan")
	mon := monitorPid(t, e, id, c)
	if mon == 0 {
		t.Skip("the monitor's pid is not exposed (.State.MonitorPid, state.json, or the container's parent)")
	}
	start, _ := startTime(mon)
	if err := unix.Kill(mon, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the monitor to die", func() (bool, string) { return !alive(procID{mon, start, ""}), "" })
	t.Logf("after the monitor's death ps -a shows:\n%s", e.must("ps", "-a"))
	e.must("rm", "-f", "orphan")
	cs, _ := startTime(c.State.Pid)
	waitFor(t, "the container's process to be gone", func() (bool, string) {
		return !alive(procID{c.State.Pid, cs, ""}), fmt.Sprint(c.State.Pid)
	})
	if out := e.must("ps", "-aq"); out != "" {
		t.Errorf("rm -f left %q", out)
	}
}

// monitorPid finds the monitor of a running container: inspect's
// .State.MonitorPid, the engine's state.json, or the container process's
// parent — whichever is a nook process.
func monitorPid(t *testing.T, e *engine, id string, c container) int {
	candidates := []int{c.State.MonitorPid}
	var st struct{ MonitorPid int }
	if b, err := os.ReadFile(filepath.Join(e.root, "containers", id, "state.json")); err == nil && json.Unmarshal(b, &st) == nil {
		candidates = append(candidates, st.MonitorPid)
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.State.Pid)); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "PPid:"); ok {
				ppid, _ := strconv.Atoi(strings.TrimSpace(v))
				candidates = append(candidates, ppid)
			}
		}
	}
	for _, pid := range candidates {
		if pid <= 1 {
			continue
		}
		// Only a nook process (the full monitor, or the lean one it
		// hands over to): never kill what this test did not start.
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil {
			if exe = strings.TrimSuffix(exe, " (deleted)"); exe == resolvedBin(nookBin) || exe == leanMonitorBin() {
				return pid
			}
		}
	}
	t.Logf("no nook process among the monitor candidates %v", candidates)
	return 0
}

// TestLogRotation: with max-size=1k and max-file=2 at most two log files
// of about 1 KiB are kept, and logs shows the newest lines. (Docker takes
// one option per --log-opt: "max-size=1k,max-file=2" is a bad size there.)
func TestLogRotation(t *testing.T) {
	e := newEngine(t)
	id := e.runD("--name", "chatty", "--log-opt", "max-size=1k", "--log-opt", "max-file=2",
		builtin, "sh", "-c", "i=0; while [ $i -lt 200 ]; do echo rotlog-$i-padding-padding-padding; i=$((i+1)); done")
	if got := e.must("wait", "chatty"); got != "0" {
		t.Fatalf("wait: %q", got)
	}
	logs := e.must("logs", "chatty")
	if !strings.HasSuffix(logs, "rotlog-199-padding-padding-padding") {
		t.Errorf("logs does not end with the last line: ...%s", logs[max(0, len(logs)-200):])
	}
	if strings.Contains(logs, "rotlog-0-") {
		t.Errorf("logs still has the first line: rotation kept more than 2 KiB")
	}
	files := logFiles(t, e, id, e.inspect("chatty").LogPath)
	if len(files) == 0 || len(files) > 2 {
		t.Errorf("%d log files, want 1 or 2: %v", len(files), files)
	}
	for f, size := range files {
		if size > 1024+512 {
			t.Errorf("%s is %d bytes, over max-size 1k by more than a line", f, size)
		}
	}
}

// logFiles returns the container's log files (the current one and its
// rotations) with their sizes: those next to LogPath whose name starts
// with its name, or, without LogPath, every file under the root holding
// the test's marker.
func logFiles(t *testing.T, e *engine, id, logPath string) map[string]int64 {
	files := map[string]int64{}
	if logPath != "" {
		ents, err := os.ReadDir(filepath.Dir(logPath))
		if err != nil {
			t.Fatal(err)
		}
		for _, en := range ents {
			if strings.HasPrefix(en.Name(), filepath.Base(logPath)) {
				if fi, err := en.Info(); err == nil {
					files[en.Name()] = fi.Size()
				}
			}
		}
		return files
	}
	filepath.WalkDir(e.root, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		if b, err := os.ReadFile(p); err == nil && strings.Contains(string(b), "rotlog-") {
			files[p] = int64(len(b))
		}
		return nil
	})
	return files
}
