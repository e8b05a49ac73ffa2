package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nook-containers/nook/internal/runtime/seccomp"
)

// TestProcessSettings checks process.user, rlimits, umask, noNewPrivileges,
// oomScoreAdj, capabilities, cwd and domainname as the program sees them.
func TestProcessSettings(t *testing.T) {
	e := newEnv(t)
	umask := uint32(0o027)
	oom := 500
	e.spec.Process.User = specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{10, 20}, Umask: &umask}
	e.spec.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 321, Hard: 654}, {Type: "RLIMIT_CORE", Soft: 0, Hard: 0}}
	e.spec.Process.NoNewPrivileges = true
	e.spec.Process.OOMScoreAdj = &oom
	e.spec.Process.Cwd = "/home/user"
	e.spec.Domainname = "example.test"
	rep := e.probe()
	if rep.UID != 1000 || rep.EUID != 1000 || rep.GID != 1000 || rep.EGID != 1000 {
		t.Errorf("uid/gid %d/%d %d/%d", rep.UID, rep.EUID, rep.GID, rep.EGID)
	}
	if g := rep.Groups; len(g) != 2 || g[0] != 10 || g[1] != 20 {
		t.Errorf("groups %v, want [10 20]", g)
	}
	if rep.Umask != "0027" {
		t.Errorf("umask %s", rep.Umask)
	}
	if r := rep.Rlimits["RLIMIT_NOFILE"]; r.Soft() != 321 || r.Hard() != 654 {
		t.Errorf("RLIMIT_NOFILE %v (errors: %v)", r, rep.Errors)
	}
	if !rep.NoNewPrivs || rep.OOMScoreAdj != 500 || rep.Cwd != "/home/user" || rep.Domainname != "example.test" {
		t.Errorf("nnp %v oom %d cwd %s domain %s", rep.NoNewPrivs, rep.OOMScoreAdj, rep.Cwd, rep.Domainname)
	}
	// A non-root user keeps no effective capabilities across execve.
	if rep.Caps.Effective.Mask() != 0 || rep.Caps.Bounding.Has("CAP_SYS_ADMIN") || !rep.Caps.Bounding.Has("CAP_KILL") {
		t.Errorf("caps %+v", rep.Caps)
	}
	if !strings.Contains(strings.Join(rep.Env, " "), "HOME=/home/user") {
		t.Errorf("HOME not from /etc/passwd: %v", rep.Env)
	}
}

// TestRootCapabilities: root in the container gets exactly the listed set.
func TestRootCapabilities(t *testing.T) {
	e := newEnv(t)
	rep := e.probe()
	for _, set := range []string{rep.Caps.Bounding.Hex, rep.Caps.Effective.Hex, rep.Caps.Permitted.Hex} {
		// CAP_KILL(5) | CAP_NET_BIND_SERVICE(10) | CAP_AUDIT_WRITE(29)
		if set != "0000000020000420" {
			t.Errorf("capability set %s, want 0000000020000420 (%+v)", set, rep.Caps)
		}
	}
}

// TestSysctl sets namespaced sysctls, and refuses one that is not.
func TestSysctl(t *testing.T) {
	e := newEnv(t).args("cat", "/proc/sys/net/ipv4/ip_forward", "/proc/sys/kernel/shmmni")
	e.spec.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1", "kernel.shmmni": "1234"}
	e.spec.Linux.ReadonlyPaths = nil
	r := e.run()
	if r.code != 0 || r.stdout != "1\n1234\n" {
		t.Errorf("%s", r)
	}
	e2 := newEnv(t)
	e2.spec.Linux.Sysctl = map[string]string{"vm.swappiness": "1"}
	if r := e2.run(); r.code == 0 || !strings.Contains(r.stderr, "not namespaced") {
		t.Errorf("host sysctl vm.swappiness was accepted: %s", r)
	}
}

// TestTimeAndCgroupNamespaces: new time namespace with offsets, new cgroup
// namespace rooted at the container's cgroup.
func TestTimeAndCgroupNamespaces(t *testing.T) {
	e := newEnv(t).args("sh", "-c", "cut -d. -f1 /proc/uptime; cat /proc/self/cgroup")
	e.spec.Linux.Namespaces = append(e.spec.Linux.Namespaces,
		specs.LinuxNamespace{Type: specs.TimeNamespace}, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	e.spec.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"boottime": {Secs: 86400 * 365}}
	r := e.run()
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) < 2 || len(lines[0]) < 8 {
		t.Fatalf("uptime should be a year ahead: %s", r)
	}
	for _, l := range lines[1:] {
		if !strings.HasSuffix(l, ":/") {
			t.Errorf("cgroup namespace not rooted at the container's cgroup: %q", l)
		}
	}
}

// TestSeccompDefaultProfile runs under Docker's default profile (what
// `nook-runtime spec` writes): ordinary work goes on, mount and new user
// namespaces are refused, and the filter is in force (Seccomp: 2).
func TestSeccompDefaultProfile(t *testing.T) {
	for _, nnp := range []bool{true, false} {
		e := newEnv(t).args("sh", "-c", "echo ok; unshare -U true 2>&1; grep Seccomp: /proc/self/status")
		e.spec.Linux.Seccomp = seccomp.DefaultProfileFor(e.spec.Process.Capabilities.Bounding)
		e.spec.Process.NoNewPrivileges = nnp
		r := e.run()
		if !strings.HasPrefix(r.stdout, "ok\n") || !strings.Contains(r.stdout, "unshare(0x10000000): Operation not permitted") ||
			!strings.Contains(r.stdout, "Seccomp:\t2") {
			t.Errorf("noNewPrivileges=%v: %s", nnp, r)
		}
	}
	// A profile of our own: mkdir fails with the errno it names.
	exdev := uint(18)
	e := newEnv(t).args("sh", "-c", "mkdir /tmp/d 2>&1; echo done")
	e.spec.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno, ErrnoRet: &exdev}}}
	if r := e.run(); !strings.Contains(r.stdout, "Invalid cross-device link") {
		t.Errorf("custom profile: %s", r)
	}
	e = newEnv(t).args("true")
	e.spec.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_NOPE"}
	if r := e.run(); r.code != 125 || !strings.Contains(r.stderr, "linux.seccomp") {
		t.Errorf("bad profile: %s", r)
	}
}

// TestLSMRefusedWithoutHostSupport: an AppArmor profile or SELinux label the
// host cannot apply is a clear error, never an unconfined container.
func TestLSMRefusedWithoutHostSupport(t *testing.T) {
	if _, err := os.Stat("/sys/module/apparmor/parameters/enabled"); err == nil {
		t.Skip("this host has AppArmor")
	}
	e := newEnv(t).args("true")
	e.spec.Process.ApparmorProfile = "docker-default"
	if r := e.run(); r.code != 125 || !strings.Contains(r.stderr, "AppArmor is not enabled on this host") {
		t.Errorf("%s", r)
	}
}

// TestSessionKeyring: each container gets a session keyring of its own
// (_ses.ID), unless --no-new-keyring.
func TestSessionKeyring(t *testing.T) {
	e := newEnv(t).args("cat", "/proc/keys")
	e.spec.Linux.MaskedPaths = nil
	if r := e.run(); r.code != 0 || !strings.Contains(r.stdout, "_ses."+e.id) {
		t.Errorf("no _ses.%s keyring: %s", e.id, r)
	}
	e2 := newEnv(t).args("cat", "/proc/keys")
	e2.spec.Linux.MaskedPaths = nil
	e2.writeSpec()
	if r := e2.rt("run", "--no-new-keyring", e2.id); r.code != 0 || strings.Contains(r.stdout, "_ses."+e2.id) {
		t.Errorf("--no-new-keyring: %s", r)
	}
}

// TestIgnoredSignalsReset: a runtime started with signals ignored (nohup, a
// shell's background job, a supervisor) must not pass that on, or ^C would
// not stop the container's shell jobs. execve keeps ignored signals, so
// init sets them back to the default right before it. create is used, not
// run: run catches every signal to forward it, and Go's fork resets caught
// ones in the child, which would hide a missing reset.
func TestIgnoredSignalsReset(t *testing.T) {
	e := newEnv(t).args("grep", "SigIgn", "/proc/self/status")
	e.writeSpec()
	out := filepath.Join(e.dir, "out")
	cmd := exec.Command("sh", "-c", `trap "" HUP INT PIPE; exec "$@" >"$0" 2>&1 </dev/null`,
		out, runtimeBin, "--root", e.root, "create", "--bundle", e.bundle, e.id)
	if b, err := cmd.CombinedOutput(); err != nil {
		data, _ := os.ReadFile(out)
		t.Fatalf("create with HUP, INT and PIPE ignored: %v %s%s", err, b, data)
	}
	e.mustRT("start", e.id)
	waitStatus(t, e, "stopped")
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(data))
	if len(f) != 2 || f[0] != "SigIgn:" {
		t.Fatalf("program's output: %q", data)
	}
	mask, err := strconv.ParseUint(f[1], 16, 64)
	if err != nil {
		t.Fatalf("program's output: %q: %v", data, err)
	}
	if mask != 0 {
		t.Errorf("the program starts with signals ignored: SigIgn %s", f[1])
	}
}
