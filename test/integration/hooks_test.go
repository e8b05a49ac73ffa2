package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestHooks runs every kind of hook once and checks each saw the state JSON
// at its point of the lifecycle.
func TestHooks(t *testing.T) {
	e := newEnv(t).args("true")
	out := t.TempDir()
	host := func(name string) specs.Hook {
		return specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", "cat > " + filepath.Join(out, name+".json")}}
	}
	e.spec.Hooks = &specs.Hooks{
		Prestart:        []specs.Hook{host("prestart")},
		CreateRuntime:   []specs.Hook{host("createRuntime")},
		CreateContainer: []specs.Hook{host("createContainer")},
		// startContainer runs inside the container: its path and its
		// output are the container's.
		StartContainer: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "cat > /startContainer.json"}}},
		Poststart:      []specs.Hook{host("poststart")},
		Poststop:       []specs.Hook{host("poststop")},
	}
	if r := e.run(); r.code != 0 {
		t.Fatalf("%s", r)
	}
	want := map[string]specs.ContainerState{
		"prestart": specs.StateCreating, "createRuntime": specs.StateCreating, "createContainer": specs.StateCreating,
		"startContainer": specs.StateRunning, "poststart": specs.StateRunning, "poststop": specs.StateStopped,
	}
	for name, status := range want {
		file := filepath.Join(out, name+".json")
		if name == "startContainer" {
			file = filepath.Join(e.rootfs, "startContainer.json")
		}
		data, err := os.ReadFile(file)
		if err != nil {
			t.Errorf("%s hook did not run: %v", name, err)
			continue
		}
		var st specs.State
		if err := json.Unmarshal(data, &st); err != nil || st.ID != e.id || st.Status != status || st.Pid <= 0 || st.Bundle != e.bundle {
			t.Errorf("%s hook saw %s (%v), want status %s", name, data, err, status)
		}
	}
}

// TestFailingHook: a failing createRuntime hook aborts create, and nothing
// is left behind.
func TestFailingHook(t *testing.T) {
	e := newEnv(t).args("true")
	e.spec.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "echo no network for you >&2; exit 1"}}}}
	r := e.run()
	if r.code == 0 || !strings.Contains(r.stderr, "createRuntime hook #0") || !strings.Contains(r.stderr, "no network for you") {
		t.Errorf("%s", r)
	}
	if _, err := os.Stat(filepath.Join(e.root, e.id)); err == nil {
		t.Error("state dir left after a failing hook")
	}
}
