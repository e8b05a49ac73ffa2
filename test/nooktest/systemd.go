package nooktest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// RequireSystemd skips the test where systemd is not PID 1 (these hosts),
// or fails it when NOOK_WANT_SYSTEMD=1 says it must be (make test-systemd's
// VMs boot systemd).
func RequireSystemd(t *testing.T) {
	t.Helper()
	if st, err := os.Stat("/run/systemd/system"); err != nil || !st.IsDir() {
		if os.Getenv("NOOK_WANT_SYSTEMD") == "1" {
			t.Fatal("NOOK_WANT_SYSTEMD=1 but systemd is not running")
		}
		t.Skip("systemd is not running here (make test-systemd boots a VM with it)")
	}
}

// UnitProps reads properties of a systemd unit with systemctl show.
func UnitProps(t *testing.T, unit string, props ...string) map[string]string {
	t.Helper()
	out, err := exec.Command("systemctl", "show", unit, "-p", strings.Join(props, ",")).CombinedOutput()
	if err != nil {
		t.Fatalf("systemctl show %s: %v: %s", unit, err, out)
	}
	m := map[string]string{}
	for line := range strings.Lines(string(out)) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			m[k] = v
		}
	}
	return m
}
