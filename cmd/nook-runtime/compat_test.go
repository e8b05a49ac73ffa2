package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nook-containers/nook/internal/runtime"
)

// runc's messages for a missing bundle or config.json (test/compat checks
// them against runc itself).
func TestCheckBundle(t *testing.T) {
	dir := t.TempDir()
	if err := checkBundle(filepath.Join(dir, "nowhere")); err == nil || !strings.HasPrefix(err.Error(), "chdir ") ||
		!strings.HasSuffix(err.Error(), ": no such file or directory") {
		t.Errorf("missing bundle: %v", err)
	}
	if err := checkBundle(dir); err == nil || err.Error() != "JSON specification file config.json not found" {
		t.Errorf("missing config.json: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "config.json"), []byte("{}"), 0o644)
	if err := checkBundle(dir); err != nil {
		t.Errorf("bundle with config.json: %v", err)
	}
}

func TestParseKillSignal(t *testing.T) {
	for in, want := range map[string]int{"0": 0, "9": 9, "KILL": 9, "SIGTERM": 15} {
		if sig, err := parseKillSignal(in); err != nil || int(sig) != want {
			t.Errorf("parseKillSignal(%q) = %d, %v; want %d", in, sig, err, want)
		}
	}
}

// A stopped container's pid shows as 0, as in runc.
func TestStateOf(t *testing.T) {
	s := &runtime.State{State: specs.State{ID: "x", Pid: 42, Status: specs.StateStopped}}
	if st := stateOf(s); st.Pid != 0 || st.Status != "stopped" {
		t.Errorf("stopped: %+v", st)
	}
	s.Status = specs.StateRunning
	if st := stateOf(s); st.Pid != 42 {
		t.Errorf("running: %+v", st)
	}
}
