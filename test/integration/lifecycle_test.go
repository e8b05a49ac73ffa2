package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLifecycle walks create → created → start → running → kill → stopped →
// delete, checking state's JSON at each step.
func TestLifecycle(t *testing.T) {
	e := newEnv(t).args("sleep", "300")
	e.spec.Annotations = map[string]string{"org.nook.test": "yes"}
	e.writeSpec()
	pidFile := filepath.Join(e.dir, "pid")
	e.mustRT("create", "--bundle", e.bundle, "--pid-file", pidFile, e.id)

	s := e.state()
	if s.Status != "created" || s.ID != e.id || s.Bundle != e.bundle || s.Pid <= 0 {
		t.Fatalf("after create: %+v", s)
	}
	if s.Annotations["org.nook.test"] != "yes" || !strings.HasPrefix(s.Version, "1.") {
		t.Errorf("state lacks annotations or ociVersion: %+v", s)
	}
	data, _ := os.ReadFile(pidFile)
	if strings.TrimSpace(string(data)) == "" || strings.TrimSpace(string(data)) != itoa(s.Pid) {
		t.Errorf("pid file holds %q, state says %d", data, s.Pid)
	}
	// While created, the init is nook-runtime sealed: seen through a
	// read-only overlay (or a sealed memfd copy), never the file itself.
	if f, err := os.OpenFile("/proc/"+itoa(s.Pid)+"/exe", os.O_WRONLY, 0); err == nil {
		f.Close()
		exe, _ := os.Readlink("/proc/" + itoa(s.Pid) + "/exe")
		t.Errorf("created container's init runs %q, which opens for writing", exe)
	}

	e.mustRT("start", e.id)
	if s := e.state(); s.Status != "running" {
		t.Fatalf("after start: %+v", s)
	}
	if r := e.rt("start", e.id); r.code == 0 || !strings.Contains(r.stderr, "already running") {
		t.Errorf("second start: %s", r)
	}
	if r := e.rt("delete", e.id); r.code == 0 || !strings.Contains(r.stderr, "not stopped") {
		t.Errorf("delete of a running container without --force: %s", r)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(e.mustRT("list", "-f", "json").stdout), &list); err != nil || len(list) != 1 || list[0]["id"] != e.id {
		t.Errorf("list -f json: %v %v", list, err)
	}

	e.mustRT("kill", e.id, "KILL")
	waitStatus(t, e, "stopped")
	if r := e.rt("kill", e.id, "TERM"); r.code == 0 || !strings.Contains(r.stderr, "container not running") {
		t.Errorf("kill of a stopped container: %s", r)
	}
	if r := e.rt("start", e.id); r.code == 0 {
		t.Errorf("start of a stopped container succeeded: %s", r)
	}
	e.mustRT("delete", e.id)
	if r := e.rt("state", e.id); r.code == 0 || !strings.Contains(r.stderr, "does not exist") {
		t.Errorf("state after delete: %s", r)
	}
}

func waitStatus(t *testing.T, e *env, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := e.state()
		if string(s.Status) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("status %q, want %q", s.Status, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDeleteForce kills a running container and removes everything.
func TestDeleteForce(t *testing.T) {
	e := newEnv(t).args("sleep", "300")
	e.writeSpec()
	e.mustRT("run", "-d", e.id)
	pid := e.state().Pid
	e.mustRT("delete", "--force", e.id)
	if _, err := os.Stat("/proc/" + itoa(pid)); err == nil {
		if st, _ := os.ReadFile("/proc/" + itoa(pid) + "/stat"); !strings.Contains(string(st), ") Z") {
			t.Errorf("init %d still alive after delete --force", pid)
		}
	}
}

// TestDeleteCreated removes a container whose program never started.
func TestDeleteCreated(t *testing.T) {
	e := newEnv(t).args("true")
	e.writeSpec()
	e.mustRT("create", e.id)
	e.mustRT("delete", e.id)
}

func TestUnknownID(t *testing.T) {
	e := newEnv(t)
	for _, cmd := range [][]string{{"state", "nope"}, {"start", "nope"}, {"kill", "nope"}, {"delete", "nope"}} {
		if r := e.rt(cmd...); r.code == 0 || !strings.Contains(r.stderr, `container "nope" does not exist`) {
			t.Errorf("%v: %s", cmd, r)
		}
	}
	e.mustRT("delete", "--force", "nope")
	if r := e.rt("create", "../escape"); r.code == 0 || !strings.Contains(r.stderr, "invalid container id") {
		t.Errorf("create ../escape: %s", r)
	}
}

// TestBadInput: each bad bundle is a one-line error and leaves nothing.
func TestBadInput(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(e *env)
		want   string
		code   int
	}{
		{"malformed config", func(e *env) {
			os.WriteFile(filepath.Join(e.bundle, "config.json"), []byte("{not json"), 0o644)
		}, "parsing", 125},
		{"missing rootfs", func(e *env) {
			e.spec.Root.Path = "nowhere"
			e.writeSpec()
		}, "rootfs", 125},
		{"empty args", func(e *env) {
			e.spec.Process.Args = nil
			e.writeSpec()
		}, "process.args", 125},
		{"exec not found", func(e *env) {
			e.spec.Process.Args = []string{"/bin/nope"}
			e.writeSpec()
		}, `exec "/bin/nope": no such file or directory`, 127},
		{"not in PATH", func(e *env) {
			e.spec.Process.Args = []string{"nope"}
			e.writeSpec()
		}, `exec "nope": executable file not found in $PATH`, 127},
		{"not executable", func(e *env) {
			e.spec.Process.Args = []string{"/etc/passwd"}
			e.writeSpec()
		}, `exec "/etc/passwd": permission denied`, 126},
		{"bad mount", func(e *env) {
			e.spec.Mounts = append(e.spec.Mounts, specsMount("/mnt", "nosuchfs", "x"))
			e.writeSpec()
		}, "/mnt", 125},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			c.mutate(e)
			r := e.rt("run", e.id)
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			if r.code != c.code || !strings.Contains(r.stderr, c.want) || len(lines) != 1 ||
				!strings.HasPrefix(lines[0], "nook-runtime: ") {
				t.Errorf("want exit %d and one line with %q, got %s", c.code, c.want, r)
			}
			if _, err := os.Stat(filepath.Join(e.root, e.id)); err == nil {
				t.Errorf("state dir left after failed run")
			}
		})
	}
}

func TestExitStatus(t *testing.T) {
	e := newEnv(t).args("sh", "-c", "exit 42")
	if r := e.run(); r.code != 42 {
		t.Errorf("run of exit 42: %s", r)
	}
}
