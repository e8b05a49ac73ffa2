package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The unprivileged user the rootless tests run nook-runtime as: nobody,
// which every Debian system has, so no user is created.
const rootlessUID = 65534

// rootlessEnv is a bundle owned by rootlessUID, with the state root under
// $XDG_RUNTIME_DIR (e.dir/xdg), where nook-runtime puts it by default for
// an unprivileged user.
func rootlessEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	xdg := filepath.Join(e.dir, "xdg")
	e.root = filepath.Join(xdg, "nook-runtime") // for newEnv's cleanup, which runs as root
	for _, d := range []string{filepath.Dir(e.dir), e.dir} {
		os.Chmod(d, 0o755)
	}
	if err := os.Mkdir(xdg, 0o700); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(e.bundle, "config.json"))
	if out, err := exec.Command("chown", "-R", itoa(rootlessUID)+":"+itoa(rootlessUID), e.bundle, xdg).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v: %s", err, out)
	}
	return e
}

// rtAs runs nook-runtime as rootlessUID, with no --root: the default,
// $XDG_RUNTIME_DIR/nook-runtime, must be used.
func (e *env) rtAs(args ...string) result {
	e.t.Helper()
	cmd := exec.Command(runtimeBin, args...)
	cmd.Dir = e.bundle
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent", "XDG_RUNTIME_DIR=" + filepath.Dir(e.root)}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: rootlessUID, Gid: rootlessUID, Groups: []uint32{}}}
	out, err := os.CreateTemp(e.dir, "stdout")
	if err != nil {
		e.t.Fatal(err)
	}
	defer out.Close()
	errb, err := os.CreateTemp(e.dir, "stderr")
	if err != nil {
		e.t.Fatal(err)
	}
	defer errb.Close()
	cmd.Stdout, cmd.Stderr = out, errb
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		e.t.Fatalf("nook-runtime %s as uid %d: timed out after 60s", strings.Join(args, " "), rootlessUID)
	}
	stdout, _ := os.ReadFile(out.Name())
	stderr, _ := os.ReadFile(errb.Name())
	return result{stdout: string(stdout), stderr: string(stderr), code: cmd.ProcessState.ExitCode()}
}

// rootlessSpec runs `spec --rootless` as rootlessUID and reads what it wrote.
func (e *env) rootlessSpec() *specs.Spec {
	e.t.Helper()
	if r := e.rtAs("spec", "--rootless"); r.code != 0 {
		e.t.Fatalf("spec --rootless: %s", r)
	}
	data, err := os.ReadFile(filepath.Join(e.bundle, "config.json"))
	if err != nil {
		e.t.Fatal(err)
	}
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		e.t.Fatalf("decoding config.json: %v\n%s", err, data)
	}
	return &s
}

// writeSpecAs writes e.spec as config.json owned by rootlessUID.
func (e *env) writeSpecAs() {
	e.t.Helper()
	e.writeSpec()
	if err := os.Chown(filepath.Join(e.bundle, "config.json"), rootlessUID, rootlessUID); err != nil {
		e.t.Fatal(err)
	}
}

// TestRootlessSpec: `spec --rootless` has runc's rootless shape.
func TestRootlessSpec(t *testing.T) {
	e := rootlessEnv(t)
	s := e.rootlessSpec()
	own := []specs.LinuxIDMapping{{ContainerID: 0, HostID: rootlessUID, Size: 1}}
	if len(s.Linux.UIDMappings) != 1 || s.Linux.UIDMappings[0] != own[0] ||
		len(s.Linux.GIDMappings) != 1 || s.Linux.GIDMappings[0] != own[0] {
		t.Errorf("mappings %v %v, want %v", s.Linux.UIDMappings, s.Linux.GIDMappings, own)
	}
	have := map[specs.LinuxNamespaceType]bool{}
	for _, n := range s.Linux.Namespaces {
		have[n.Type] = true
	}
	if !have[specs.UserNamespace] || have[specs.NetworkNamespace] || !have[specs.MountNamespace] || !have[specs.PIDNamespace] {
		t.Errorf("namespaces %v: want user, mount, pid and no network", s.Linux.Namespaces)
	}
	if s.Linux.Resources != nil {
		t.Errorf("resources %+v, want none", s.Linux.Resources)
	}
	for _, m := range s.Mounts {
		for _, o := range m.Options {
			if strings.HasPrefix(o, "uid=") || strings.HasPrefix(o, "gid=") {
				t.Errorf("mount %s keeps %s", m.Destination, o)
			}
		}
		if m.Destination == "/sys" && (m.Source != "/sys" || !strings.Contains(strings.Join(m.Options, ","), "rbind")) {
			t.Errorf("/sys is %+v, want an rbind of the host's /sys", m)
		}
	}
	// Written as the user, a second time refused like runc.
	if uid, _ := hostOwner(t, filepath.Join(e.bundle, "config.json")); uid != rootlessUID {
		t.Errorf("config.json owned by %d", uid)
	}
	if r := e.rtAs("spec", "--rootless"); r.code == 0 || !strings.Contains(r.stderr, "exists") {
		t.Errorf("second spec --rootless: %s", r)
	}
}

// TestRootlessRun: the spec --rootless container runs as an unprivileged
// user: root inside (the user's own uid outside), its own hostname, and
// state, list and delete work on it. It has no cgroup: the user may not
// make one and the spec asks for no resources.
func TestRootlessRun(t *testing.T) {
	e := rootlessEnv(t)
	e.spec = e.rootlessSpec()
	e.spec.Process.Terminal = false
	e.spec.Process.Args = []string{"sh", "-c", "id -u; id -g; hostname; cat /proc/self/uid_map"}
	e.writeSpecAs()
	r := e.rtAs("run", e.id)
	f := strings.Fields(r.stdout)
	host, _ := os.Hostname()
	if r.code != 0 || len(f) != 6 || f[0] != "0" || f[1] != "0" || f[2] != e.spec.Hostname || f[2] == host ||
		f[3] != "0" || f[4] != itoa(rootlessUID) || f[5] != "1" {
		t.Fatalf("want uid 0, gid 0, hostname %s, uid_map 0 %d 1\n%s", e.spec.Hostname, rootlessUID, r)
	}
	if _, err := os.Stat(filepath.Join(e.root, e.id)); err == nil {
		t.Errorf("run left its state dir")
	}

	// Detached: state, list, kill, delete, all as the user.
	e.spec.Process.Args = []string{"sleep", "300"}
	e.writeSpecAs()
	if r := e.rtAs("run", "-d", e.id); r.code != 0 {
		t.Fatalf("run -d: %s", r)
	}
	r = e.rtAs("state", e.id)
	var st specs.State
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st.Status != specs.StateRunning || st.Pid <= 0 {
		t.Fatalf("state: %v\n%s", err, r)
	}
	var pst syscall.Stat_t
	if err := syscall.Stat("/proc/"+itoa(st.Pid), &pst); err != nil || pst.Uid != rootlessUID {
		t.Errorf("container init %d runs as host uid %d, want %d (%v)", st.Pid, pst.Uid, rootlessUID, err)
	}
	if st, err := os.Stat(filepath.Join(e.root, e.id)); err != nil || st.Sys().(*syscall.Stat_t).Uid != rootlessUID {
		t.Errorf("state dir under $XDG_RUNTIME_DIR: %v", err)
	}
	if r := e.rtAs("list"); r.code != 0 || !strings.Contains(r.stdout, e.id) || !strings.Contains(r.stdout, "running") {
		t.Errorf("list: %s", r)
	}
	if r := e.rtAs("exec", e.id, "sh", "-c", "id -u; hostname"); r.code != 0 || r.stdout != "0\n"+e.spec.Hostname+"\n" {
		t.Errorf("exec: %s", r)
	}
	if r := e.rtAs("kill", e.id, "KILL"); r.code != 0 {
		t.Errorf("kill: %s", r)
	}
	waitStatusAs(t, e, "stopped")
	if r := e.rtAs("delete", e.id); r.code != 0 {
		t.Errorf("delete: %s", r)
	}
	if _, err := os.Stat(filepath.Join(e.root, e.id)); err == nil {
		t.Errorf("delete left the state dir")
	}
}

// TestRootlessRefusals: what an unprivileged runtime cannot do is a clear
// error before anything exists.
func TestRootlessRefusals(t *testing.T) {
	tests := []struct {
		name string
		edit func(s *specs.Spec)
		want string
	}{
		{"no user namespace", func(s *specs.Spec) {
			s.Linux.Namespaces = s.Linux.Namespaces[:len(s.Linux.Namespaces)-1]
			s.Linux.UIDMappings, s.Linux.GIDMappings = nil, nil
		}, "needs a new user namespace"},
		{"subordinate ids", func(s *specs.Spec) {
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
		}, "linux.uidMappings: running without root, nook can map only your own id"},
		{"resources", func(s *specs.Spec) {
			s.Linux.Resources = &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: 10}}
		}, "permission denied (running rootless: linux.resources need a cgroup"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := rootlessEnv(t)
			e.spec = e.rootlessSpec()
			tt.edit(e.spec)
			e.writeSpecAs()
			r := e.rtAs("create", e.id)
			if r.code == 0 || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("want an error with %q\n%s", tt.want, r)
			}
			if _, err := os.Stat(filepath.Join(e.root, e.id)); err == nil {
				t.Errorf("state dir left behind")
			}
		})
	}
}

func waitStatusAs(t *testing.T, e *env, want string) {
	t.Helper()
	for i := 0; i < 200; i++ {
		r := e.rtAs("state", e.id)
		if strings.Contains(r.stdout, `"status": "`+want+`"`) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("container never became %s", want)
}
