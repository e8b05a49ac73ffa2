package cgroups

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// recorder is a slog handler that keeps the "cgroup write" records, so
// tests can check the order of writes, not only the final file contents.
type recorder struct {
	mu     sync.Mutex
	writes []string // "path=value"
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *recorder) WithGroup(string) slog.Handler            { return r }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	if rec.Message != "cgroup write" {
		return nil
	}
	var file, value string
	rec.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "file":
			file = a.Value.String()
		case "value":
			value = a.Value.String()
		}
		return true
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes = append(r.writes, file+"="+value)
	return nil
}

// written returns the recorded writes with root cut from their paths.
func (r *recorder) written(root string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, w := range r.writes {
		out = append(out, strings.TrimPrefix(w, root+"/"))
	}
	return out
}

// fakeTree creates plain files standing in for cgroup interface files.
func fakeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(name, "/") {
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// wantFiles checks file contents below root.
func wantFiles(t *testing.T, root string, want map[string]string) {
	t.Helper()
	for name, v := range want {
		b, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if string(b) != v {
			t.Errorf("%s = %q, want %q", name, b, v)
		}
	}
}

func wantGone(t *testing.T, root string, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(root, n)); !os.IsNotExist(err) {
			t.Errorf("%s still exists (err %v)", n, err)
		}
	}
}

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not contain %q", err, p)
		}
	}
}

// containsInOrder reports whether want appears in got as a subsequence.
func containsInOrder(got, want []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

// testResources is what the fake and root tests ask for.
func testResources() *specs.LinuxResources {
	return &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: i64(50 * mib)},
		CPU:    &specs.LinuxCPU{Quota: i64(50000), Period: u64(100000), Cpus: "0"},
		Pids:   &specs.LinuxPids{Limit: 20},
	}
}

func TestModeString(t *testing.T) {
	for m, want := range map[Mode]string{Legacy: "v1 (legacy)", Hybrid: "v1 (hybrid)", Unified: "v2", 7: "unknown"} {
		if got := m.String(); got != want {
			t.Errorf("Mode(%d).String() = %q, want %q", int(m), got, want)
		}
	}
	if got := detectMode(t.TempDir()); got != Legacy {
		t.Errorf("detectMode(tmpdir) = %v, want legacy", got)
	}
	t.Logf("this host: %v", DetectMode())
}

func TestControllerOf(t *testing.T) {
	for file, want := range map[string]string{"memory.max": "memory", "cgroup.procs": "cgroup", "io.bfq.weight": "io", "x": "x"} {
		if got := controllerOf(file); got != want {
			t.Errorf("controllerOf(%q) = %q, want %q", file, got, want)
		}
	}
}

func sortedKeys(m map[string]string) []string {
	k := make([]string, 0, len(m))
	for x := range m {
		k = append(k, x)
	}
	slices.Sort(k)
	return k
}
