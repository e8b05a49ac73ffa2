package hooks

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestRunPassesStateAndEnv(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	h := specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", `cat > "$OUT"; echo " $FOO" >> "$OUT"`, "x"},
		Env: []string{"OUT=" + out, "FOO=bar"}}
	st := &specs.State{Version: specs.Version, ID: "c1", Status: specs.StateCreating, Pid: 42, Bundle: "/b"}
	if err := Run("createRuntime", []specs.Hook{h}, st, discard); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(out)
	if !strings.Contains(string(data), `"id":"c1"`) || !strings.Contains(string(data), `"pid":42`) ||
		!strings.HasSuffix(string(data), " bar\n") {
		t.Errorf("hook saw %q", data)
	}
}

func TestRunStopsAtFirstFailure(t *testing.T) {
	out := filepath.Join(t.TempDir(), "ran")
	hs := []specs.Hook{
		{Path: "/bin/sh", Args: []string{"sh", "-c", "echo broken >&2; exit 3"}},
		{Path: "/bin/sh", Args: []string{"sh", "-c", "touch " + out}},
	}
	err := Run("prestart", hs, &specs.State{}, discard)
	if err == nil || !strings.Contains(err.Error(), "prestart hook #0") || !strings.Contains(err.Error(), "broken") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("the hook after a failed one ran")
	}
	RunAll("poststop", hs, &specs.State{}, discard)
	if _, err := os.Stat(out); err != nil {
		t.Error("RunAll stopped at a failure")
	}
}

func TestRunTimeout(t *testing.T) {
	one := 1
	err := Run("poststart", []specs.Hook{{Path: "/bin/sleep", Args: []string{"sleep", "10"}, Timeout: &one}}, &specs.State{}, discard)
	if err == nil || !strings.Contains(err.Error(), "timed out after 1s") {
		t.Fatalf("err = %v", err)
	}
	zero := 0
	if err := Run("x", []specs.Hook{{Path: "/bin/true", Timeout: &zero}}, &specs.State{}, discard); err == nil {
		t.Error("timeout 0 accepted")
	}
}

func TestRunMissingBinary(t *testing.T) {
	if err := Run("createRuntime", []specs.Hook{{Path: "/nonexistent/hook"}}, &specs.State{}, discard); err == nil {
		t.Error("missing hook binary did not fail")
	}
}
