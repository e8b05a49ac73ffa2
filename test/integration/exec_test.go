package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nook-containers/nook/test/probe/report"
)

// sleeper runs a container whose init sleeps, and returns its host pid.
func (e *env) sleeper() int {
	e.t.Helper()
	e.args("sleep", "300").writeSpec()
	e.mustRT("run", "-d", e.id)
	return e.state().Pid
}

// nsOf reads the namespace inodes of a host pid, as the probe reports its own.
func nsOf(t *testing.T, pid int) map[string]uint64 {
	t.Helper()
	out := map[string]uint64{}
	entries, err := os.ReadDir("/proc/" + itoa(pid) + "/ns")
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range entries {
		var st syscall.Stat_t
		if err := syscall.Stat("/proc/"+itoa(pid)+"/ns/"+en.Name(), &st); err == nil {
			out[en.Name()] = st.Ino
		}
	}
	return out
}

// TestExec runs processes next to a running container's init: they see its
// processes, its root and mounts, and exit statuses come back.
func TestExec(t *testing.T) {
	e := newEnv(t)
	init := e.sleeper()
	if r := e.mustRT("exec", e.id, "ps"); !strings.Contains(r.stdout, "sleep 300") || !strings.Contains(r.stdout, "ps") {
		t.Errorf("ps in the container: %s", r)
	}
	if r := e.rt("exec", e.id, "sh", "-c", "exit 3"); r.code != 3 {
		t.Errorf("exit status %d, want 3: %s", r.code, r)
	}
	r := e.rt("exec", e.id, "/bin/nope")
	if r.code != 127 || !strings.Contains(r.stderr, `"/bin/nope": no such file or directory`) || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("exec of a missing program: %s", r)
	}
	if r := e.rt("exec", e.id, "/etc/passwd"); r.code != 126 {
		t.Errorf("exec of a non-executable file: %s", r)
	}
	// The container's root, not the host's.
	if r := e.mustRT("exec", e.id, "sh", "-c", "cd /; ls; cd ..; ls /"); !strings.Contains(r.stdout, "probe\n") || strings.Contains(r.stdout, "usr") {
		t.Errorf("ls / in the container: %s", r)
	}
	// The container's mounts, exactly as its init sees them.
	want, err := os.ReadFile("/proc/" + itoa(init) + "/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if r := e.mustRT("exec", e.id, "cat", "/proc/self/mountinfo"); r.stdout != string(want) {
		t.Errorf("mountinfo in exec:\n%s\ninit's:\n%s", r.stdout, want)
	}
	// Signals to a foreground exec reach the process.
	pid, wait := e.backgroundPid("exec", e.id, "sleep", "100")
	waitForExec(t, e, "sleep 100")
	syscall.Kill(pid, syscall.SIGTERM)
	if r := wait(); r.code != 128+int(syscall.SIGTERM) {
		t.Errorf("foreground exec after SIGTERM: %s", r)
	}
}

// waitForExec waits until ps in the container shows cmdline.
func waitForExec(t *testing.T, e *env, cmdline string) {
	t.Helper()
	for i := 0; i < 100; i++ {
		if r := e.rt("exec", e.id, "ps"); strings.Contains(r.stdout, cmdline) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%q never showed up in the container", cmdline)
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// TestExecProbe checks what an exec'd process gets: every namespace of the
// container, its cgroup, the flags' user, cwd, env, groups and capabilities,
// and no fd of the host.
func TestExecProbe(t *testing.T) {
	e := newEnv(t)
	e.spec.Linux.Namespaces = append(e.spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	init := e.sleeper()
	r := e.mustRT("exec", "--env", "FOO=bar", "--cwd", "/tmp", "--user", "1000:1000", "--additional-gids", "10", e.id, "/probe")
	var rep report.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("decoding probe report: %v\n%s", err, r)
	}
	if rep.UID != 1000 || rep.GID != 1000 || len(rep.Groups) != 1 || rep.Groups[0] != 10 || rep.Cwd != "/tmp" {
		t.Errorf("uid %d gid %d groups %v cwd %s", rep.UID, rep.GID, rep.Groups, rep.Cwd)
	}
	env := strings.Join(rep.Env, " ")
	if !strings.Contains(env, "FOO=bar") || !strings.Contains(env, "NOOK_TEST=1") || strings.Contains(env, "_NOOK") {
		t.Errorf("env %v", rep.Env)
	}
	if rep.Caps.Bounding.Hex != "0000000020000420" || rep.Caps.Effective.Mask() != 0 {
		t.Errorf("caps %+v, want the container's bounding set and nothing effective for uid 1000", rep.Caps)
	}
	host := nsOf(t, init)
	for name, ino := range host {
		if name == "time" {
			continue // init's time namespace is its children's after execve; compared below
		}
		if rep.Namespaces[name] != ino {
			t.Errorf("namespace %s: exec'd %d, container's %d", name, rep.Namespaces[name], ino)
		}
	}
	if rep.Namespaces["time"] != host["time_for_children"] {
		t.Errorf("time namespace %d, container's %d", rep.Namespaces["time"], host["time_for_children"])
	}
	if len(rep.FDs) != 3 {
		t.Errorf("fds %v, want only 0, 1 and 2", rep.FDs)
	}
	if len(rep.Cgroup.Lines) == 0 {
		t.Errorf("no cgroup lines")
	}
	for _, l := range rep.Cgroup.Lines {
		if !strings.HasSuffix(l, ":/") {
			t.Errorf("exec'd process is not at the root of the container's cgroup namespace: %q", l)
		}
	}

	// Root with --cap and --no-new-privs.
	r = e.mustRT("exec", "--cap", "CAP_CHOWN", "--no-new-privs", e.id, "/probe")
	rep = report.Report{}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("decoding probe report: %v\n%s", err, r)
	}
	if !rep.Caps.Effective.Has("CAP_CHOWN") || !rep.Caps.Effective.Has("CAP_KILL") || rep.Caps.Effective.Has("CAP_SYS_ADMIN") || !rep.NoNewPrivs {
		t.Errorf("caps %+v nnp %v", rep.Caps, rep.NoNewPrivs)
	}
}

// TestExecDetached: -d returns at once, --pid-file names the process on the
// host, and it runs the container's binary from the container's cgroup.
func TestExecDetached(t *testing.T) {
	e := newEnv(t)
	init := e.sleeper()
	pidFile := filepath.Join(e.dir, "exec.pid")
	e.mustRT("exec", "-d", "--pid-file", pidFile, e.id, "sleep", "100")
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid := atoi(strings.TrimSpace(string(data)))
	if pid <= 0 {
		t.Fatalf("pid file holds %q", data)
	}
	// Never the sealed runtime: the container's own busybox.
	if exe, _ := os.Readlink("/proc/" + itoa(pid) + "/exe"); exe != "/bin/busybox" {
		t.Errorf("exec'd process runs %q, want /bin/busybox", exe)
	}
	if r := e.mustRT("exec", e.id, "readlink", "/proc/self/exe"); r.stdout != "/bin/busybox\n" {
		t.Errorf("readlink /proc/self/exe: %s", r)
	}
	a, _ := os.ReadFile("/proc/" + itoa(pid) + "/cgroup")
	b, _ := os.ReadFile("/proc/" + itoa(init) + "/cgroup")
	if string(a) != string(b) || len(a) == 0 {
		t.Errorf("cgroup of the exec'd process:\n%s\ncontainer's:\n%s", a, b)
	}
	for name, ino := range nsOf(t, init) {
		if got := nsOf(t, pid)[name]; got != ino && name != "time" {
			t.Errorf("namespace %s: %d, container's %d", name, got, ino)
		}
	}
}

// TestExecProcessFile runs --process FILE.json; the container's capabilities
// fill in what the file leaves out.
func TestExecProcessFile(t *testing.T) {
	e := newEnv(t)
	e.sleeper()
	p := specs.Process{
		Args: []string{"sh", "-c", "echo $A; pwd; grep CapEff /proc/self/status"},
		Env:  []string{"PATH=/bin", "A=from-file"},
		Cwd:  "/tmp",
	}
	data, _ := json.Marshal(p)
	file := filepath.Join(e.dir, "process.json")
	os.WriteFile(file, data, 0o644)
	r := e.mustRT("exec", "--process", file, e.id)
	if !strings.HasPrefix(r.stdout, "from-file\n/tmp\n") || !strings.Contains(r.stdout, "0000000020000420") {
		t.Errorf("%s", r)
	}
}

// TestExecTerminal: exec -t sends the pty master to the console socket.
func TestExecTerminal(t *testing.T) {
	e := newEnv(t)
	e.sleeper()
	con := newConsole(t)
	wait := e.background("exec", "-t", "--console-socket", con.path, e.id, "sh")
	_, master := con.master(t)
	master.Write([]byte("tty; exit 4\n"))
	out := readAll(t, master)
	if r := wait(); r.code != 4 || !strings.Contains(out, "\n/dev/pts/0\r") {
		t.Errorf("%s\npty: %q", r, out)
	}
	// Foreground, no console socket: the runtime relays the pty.
	if r := e.rtIn([]byte("echo x-$((3+3))\nexit 6\n"), "exec", "-t", e.id, "sh"); r.code != 6 || !strings.Contains(r.stdout, "x-6") {
		t.Errorf("exec -t without a console socket: %s", r)
	}
	if r := e.rt("exec", "-t", "-d", e.id, "sh"); r.code == 0 || !strings.Contains(r.stderr, "cannot allocate a tty") {
		t.Errorf("exec -t -d without a console socket: %s", r)
	}
}

// TestExecStates: exec works in a created container (like runc), not in a
// stopped one; and it joins a container's user namespace.
func TestExecStates(t *testing.T) {
	e := newEnv(t).args("sleep", "300")
	e.writeSpec()
	e.mustRT("create", e.id)
	if r := e.rt("exec", e.id, "echo", "ok"); r.code != 0 || r.stdout != "ok\n" {
		t.Errorf("exec in a created container: %s", r)
	}
	e.mustRT("kill", e.id, "KILL")
	waitStatus(t, e, "stopped")
	if r := e.rt("exec", e.id, "echo", "ok"); r.code == 0 || !strings.Contains(r.stderr, "container not running") {
		t.Errorf("exec in a stopped container: %s", r)
	}
	if r := e.rt("exec", "nope-"+e.id, "echo"); r.code == 0 || !strings.Contains(r.stderr, "does not exist") {
		t.Errorf("exec in a missing container: %s", r)
	}
}

// TestExecUserNamespace: exec joins the container's user namespace and is
// its root there, an unprivileged uid on the host.
func TestExecUserNamespace(t *testing.T) {
	e := newEnv(t)
	e.spec.Linux.Namespaces = append(e.spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	e.spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	e.spec.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	for _, d := range []string{filepath.Dir(e.dir), e.dir, e.bundle} {
		os.Chmod(d, 0o755)
	}
	if err := os.Chown(e.rootfs, 100000, 100000); err != nil {
		t.Fatal(err)
	}
	init := e.sleeper()
	r := e.mustRT("exec", e.id, "/probe")
	var rep report.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("decoding probe report: %v\n%s", err, r)
	}
	host := nsOf(t, init)
	if rep.UID != 0 || rep.Namespaces["user"] != host["user"] || rep.Namespaces["pid"] != host["pid"] || rep.Namespaces["mnt"] != host["mnt"] {
		t.Errorf("uid %d namespaces %v, container's %v", rep.UID, rep.Namespaces, host)
	}
}

// TestExecSeccomp: an exec'd process gets the container's seccomp filter,
// with and without no_new_privs.
func TestExecSeccomp(t *testing.T) {
	for _, nnp := range []bool{false, true} {
		e := newEnv(t)
		e.spec.Process.NoNewPrivileges = nnp
		e.spec.Linux.Seccomp = &specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno,
				ErrnoRet: func() *uint { v := uint(syscall.EPERM); return &v }()}},
		}
		e.sleeper()
		if r := e.rt("exec", e.id, "mkdir", "/tmp/x"); r.code == 0 || !strings.Contains(r.stderr, "not permitted") {
			t.Errorf("nnp=%v: mkdir under a filter that denies it: %s", nnp, r)
		}
	}
}
