package security

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestHostProcesses starts a `sleep 300` on the host and attacks it from
// inside: it must not be in the container's /proc, and kill -9 by its pid,
// kill -9 -1, reading its memory and PTRACE_ATTACH must all fail; the
// process must still be alive afterwards.
func TestHostProcesses(t *testing.T) {
	variants(t, func(t *testing.T, e *env) {
		host := hostSleep(t)
		pid := itoa(host.Process.Pid)
		r := e.sh(`
ls /proc | grep -qx ` + pid + ` && echo OK:see
ps -o pid | grep -qx ' *` + pid + `' && echo OK:ps
cat /proc/` + pid + `/cmdline >/dev/null 2>&1 && echo OK:cmdline
head -c 1 /proc/` + pid + `/mem >/dev/null 2>&1 && echo OK:mem
kill -9 ` + pid + ` 2>/dev/null && echo OK:kill
/escape ptrace ` + pid + `
kill -9 -1
echo PIDS:$(ls /proc | grep -E '^[0-9]+$' | tr '\n' ' ')
`).run()
		t.Logf("container: %s", r)
		for _, step := range []string{"see", "ps", "cmdline", "mem", "kill", "ptrace-attach"} {
			if ranOK(r, step) {
				t.Errorf("HOLE: %s of a host process worked from inside: %s", step, r)
			}
		}
		time.Sleep(100 * time.Millisecond)
		if !alive(host.Process.Pid) {
			t.Errorf("HOLE: the host's sleep %s died", pid)
		}
		// The container sees only its own processes: sh (1) and ls.
		for _, l := range strings.Split(r.stdout, "\n") {
			p, ok := strings.CutPrefix(l, "PIDS:")
			if !ok {
				continue
			}
			for _, f := range strings.Fields(p) {
				if n, _ := strconv.Atoi(f); n >= 100 {
					t.Errorf("the container sees a pid outside its namespace's first few: %s", p)
				}
			}
		}
		t.Log("ptrace: checked with PTRACE_ATTACH to the host pid (the escape helper); busybox has no strace")
	})
}
