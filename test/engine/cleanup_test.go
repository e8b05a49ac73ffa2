package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// startTime is field 22 of /proc/PID/stat: the process's start time, which
// tells a process from a later one with the same PID.
func startTime(pid int) (uint64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return 0, false
	}
	n, err := strconv.ParseUint(f[19], 10, 64)
	return n, err == nil
}

// alive reports whether the process p is still there (and not a zombie).
func alive(p procID) bool {
	st, ok := startTime(p.pid)
	if !ok || st != p.start {
		return false
	}
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.pid))
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || !strings.HasPrefix(s[i+1:], " Z")
}

// cleanup removes every container of the test's root and fails the test if
// a process, a mount or a cgroup of theirs is left; what is left is removed
// so the next tests start clean.
func (e *engine) cleanup() {
	t := e.t
	e.mu.Lock()
	for _, cmd := range e.bg {
		if cmd.ProcessState == nil {
			cmd.Process.Kill() // our own child
			cmd.Wait()
		}
	}
	e.mu.Unlock()

	r := e.nook("ps", "-aq")
	ids := strings.Fields(r.Stdout)
	for _, id := range ids {
		e.remember(id)
	}
	if len(ids) > 0 {
		if r := e.nook(append([]string{"rm", "-f"}, ids...)...); r.Code != 0 {
			t.Errorf("cleanup: %s", r)
		}
	}
	if r := e.nook("ps", "-aq"); strings.TrimSpace(r.Stdout) != "" {
		t.Errorf("cleanup: containers left after rm -f: %s", r.Stdout)
	}

	// Processes: give the kernel a moment to reap, then kill what is left
	// of the processes our nook commands started.
	e.mu.Lock()
	pids := slices.Clone(e.pids)
	e.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for _, p := range pids {
		for alive(p) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if alive(p) {
			t.Errorf("cleanup: %s (pid %d) still running after rm -f; killing it", p.what, p.pid)
			unix.Kill(p.pid, unix.SIGKILL)
		}
	}

	// Monitors of this root, a prepared one whose container never came (a
	// failed run) too: none may outlive the containers.
	for deadline := time.Now().Add(10 * time.Second); ; {
		left := monitorsOf(e.root)
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			for _, p := range left {
				t.Errorf("cleanup: %s left (pid %d); killing it", p.what, p.pid)
				unix.Kill(p.pid, unix.SIGKILL)
			}
			break
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Mounts under the test's dir, deepest first.
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	var left []string
	for _, line := range strings.Split(string(mi), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(unescape(f[4]), e.dir) {
			left = append(left, unescape(f[4]))
		}
	}
	if len(left) > 0 {
		t.Errorf("cleanup: mounts left under %s:\n%s", e.dir, strings.Join(left, "\n"))
		for i := len(left) - 1; i >= 0; i-- {
			unix.Unmount(left[i], unix.MNT_DETACH)
		}
	}

	// Cgroups named after the containers.
	for _, id := range ids {
		for _, pat := range []string{"/sys/fs/cgroup/*/nook*/*" + id + "*", "/sys/fs/cgroup/nook*/*" + id + "*"} {
			matches, _ := filepath.Glob(pat)
			for _, m := range matches {
				t.Errorf("cleanup: cgroup %s left", m)
				os.Remove(m)
			}
		}
	}
}

// monitorsOf lists the running container monitors of root: nook
// container-monitor (full) and nook-monitor (lean) with --root root.
func monitorsOf(root string) []procID {
	ents, _ := os.ReadDir("/proc")
	var out []procID
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + ent.Name() + "/cmdline")
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(data), "\x00"), "\x00")
		monitor := filepath.Base(args[0]) == "nook-monitor" || slices.Contains(args, "container-monitor")
		if i := slices.Index(args, "--root"); monitor && i >= 0 && i+1 < len(args) && args[i+1] == root {
			if st, ok := startTime(pid); ok && alive(procID{pid: pid, start: st}) {
				out = append(out, procID{pid, st, "monitor " + strings.Join(args, " ")})
			}
		}
	}
	return out
}

// unescape decodes mountinfo's octal escapes (\040 for a space).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
