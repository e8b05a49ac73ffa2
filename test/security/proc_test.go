package security

import (
	"os"
	"strings"
	"testing"
)

// TestProcAndSys writes the kernel's knobs from inside: sysrq, hostname and
// core_pattern through /proc/sys (read-only), uevent_helper through /sys
// (read-only sysfs), and reads what is masked (/proc/kcore, /proc/keys).
// Then the host's values must be what they were.
func TestProcAndSys(t *testing.T) {
	variants(t, func(t *testing.T, e *env) {
		hostFiles := []string{"/proc/sys/kernel/hostname", "/proc/sys/kernel/core_pattern",
			"/proc/sys/kernel/domainname", "/sys/kernel/uevent_helper", "/proc/sys/vm/overcommit_memory"}
		before := map[string]string{}
		for _, f := range hostFiles {
			if data, err := os.ReadFile(f); err == nil {
				before[f] = string(data)
			}
		}
		if _, err := os.Stat("/proc/sysrq-trigger"); err != nil {
			t.Logf("sysrq sub-check skipped: the host has no /proc/sysrq-trigger (%v)", err)
		}
		if _, err := os.Stat("/proc/kcore"); err != nil {
			t.Logf("kcore sub-check skipped: the host has no /proc/kcore (%v)", err)
		}
		r := e.sh(`
w() { f=$1; shift; if [ -e "$f" ]; then { echo "$@" > "$f"; } 2>/dev/null && echo "OK:$f" || echo "DENIED:$f"; else echo "ABSENT:$f"; fi; }
w /proc/sysrq-trigger h
w /proc/sys/kernel/hostname pwned-by-container
w /proc/sys/kernel/domainname pwned-by-container
w /proc/sys/kernel/core_pattern '|/tmp/pwn'
w /proc/sys/vm/overcommit_memory 2
w /sys/kernel/uevent_helper /tmp/pwn
w /sys/kernel/mm/transparent_hugepage/enabled never
{ echo x > /sys/fs/cgroup/pwn; } 2>/dev/null && echo OK:/sys/fs/cgroup/pwn
{ echo x > /sys/kernel/pwn; } 2>/dev/null && echo OK:/sys/kernel/pwn
if [ -e /proc/kcore ]; then echo KCORE:$(head -c 4096 /proc/kcore | wc -c); fi
echo KEYS:$(cat /proc/keys | wc -c)
echo TIMERS:$(cat /proc/timer_list 2>/dev/null | wc -c)
`).run()
		t.Logf("container: %s", r)
		for _, line := range strings.Split(r.stdout, "\n") {
			if strings.HasPrefix(line, "OK:") {
				t.Errorf("HOLE: the container could write %s", strings.TrimPrefix(line, "OK:"))
			}
			if strings.HasPrefix(line, "KCORE:") && line != "KCORE:0" {
				t.Errorf("HOLE: /proc/kcore is readable inside (%s)", line)
			}
		}
		if !strings.Contains(r.stdout, "KEYS:0\n") {
			t.Errorf("/proc/keys is not masked (empty) inside: %s", r.stdout)
		}
		if !strings.Contains(r.stdout, "TIMERS:0\n") {
			t.Errorf("/proc/timer_list is not masked (empty) inside: %s", r.stdout)
		}
		for f, v := range before {
			if now, _ := os.ReadFile(f); string(now) != v {
				t.Errorf("HOLE: host %s changed from %q to %q", f, v, now)
			}
		}
	})
}
