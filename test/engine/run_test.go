package engine

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nook-containers/nook/test/probe/report"
	"github.com/nook-containers/nook/test/registry"
)

// TestRunExitCodes: run exits with the container's code, 127 for a missing
// command, 126 for one that cannot be executed.
func TestRunExitCodes(t *testing.T) {
	e := newEngine(t)
	e.must("run", "--rm", builtin, "true")
	for _, tc := range []struct {
		name string
		cmd  []string
		want int
	}{
		{"zero", []string{"true"}, 0},
		{"own code", []string{"sh", "-c", "exit 3"}, 3},
		{"not found", []string{"no-such-command"}, 127},
		{"not found abs", []string{"/no/such/file"}, 127},
		{"not executable", []string{"/etc/passwd"}, 126},
		{"directory", []string{"/etc"}, 126},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.nook(append([]string{"run", "--rm", builtin}, tc.cmd...)...)
			if r.Code != tc.want {
				t.Errorf("want exit %d, got %s", tc.want, r)
			}
			if tc.want >= 126 && tc.want <= 127 && strings.Count(strings.TrimSpace(r.Stderr), "\n") > 0 {
				t.Errorf("want one line on stderr, got %q", r.Stderr)
			}
		})
	}
	if out := e.must("ps", "-aq"); out != "" {
		t.Errorf("run --rm left containers: %s", out)
	}
}

// TestInitFromNookRuntime: with the nook-runtime of its own build beside it
// (make build), nook runs containers' inits from that smaller binary; with
// another build's beside it, from itself. Both start a container.
func TestInitFromNookRuntime(t *testing.T) {
	beside := filepath.Join(filepath.Dir(nookBin), "nook-runtime")
	if _, err := os.Stat(beside); err != nil {
		t.Skip("no nook-runtime beside NOOK")
	}
	sealed := func(r result) string {
		for _, l := range strings.Split(r.Stderr, "\n") {
			if strings.Contains(l, "sealed init binary") {
				if _, f, ok := strings.Cut(l, " file="); ok {
					return strings.Fields(f)[0]
				}
			}
		}
		return ""
	}
	e := newEngine(t)
	r := e.nook("--log-level", "debug", "run", "--rm", builtin, "true")
	if r.Code != 0 || !strings.HasSuffix(sealed(r), ":nook-runtime") {
		t.Errorf("init did not run from the nook-runtime beside nook (sealed %q): %s", sealed(r), r)
	}

	// A copy of nook beside another build's nook-runtime (this test's own
	// binary stands in for one): init runs from nook.
	dir := t.TempDir()
	for name, src := range map[string]string{"nook": nookBin, "nook-runtime": os.Args[0]} {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(filepath.Join(dir, "nook"), "--root", e.root, "--log-level", "debug", "run", "--rm", builtin, "true")
	out, err := cmd.CombinedOutput()
	if got := sealed(result{Stderr: string(out)}); err != nil || !strings.HasSuffix(got, ":nook") {
		t.Errorf("beside another build's nook-runtime: %v, init sealed from %q:\n%s", err, got, out)
	}
}

// TestRunErrors: nook's own errors exit 125 with one clear line.
func TestRunErrors(t *testing.T) {
	e := newEngine(t)
	reg := pushRegistry(t)
	for _, tc := range []struct {
		name  string
		args  []string
		words []string
	}{
		{"bad memory", []string{"run", "--rm", "--memory", "12q", builtin, "true"}, []string{"--memory"}},
		{"bad cpus", []string{"run", "--rm", "--cpus", "lots", builtin, "true"}, []string{"--cpus"}},
		{"bad restart", []string{"run", "--restart", "sometimes", builtin, "true"}, []string{"restart"}},
		{"unknown flag", []string{"run", "--no-such-flag", builtin, "true"}, []string{"no-such-flag"}},
		{"no such image", []string{"run", "--rm", reg + "/no-such-image:v1", "true"}, []string{"no such image"}},
		{"no such container", []string{"stop", "no-such-container"}, []string{"no-such-container"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.nook(tc.args...), tc.words...)
		})
	}
	if out := e.must("ps", "-aq"); out != "" {
		t.Errorf("failed runs left containers: %s", out)
	}
}

// pushRegistry starts an empty registry and returns its address: a place
// where images are missing that is on loopback (a short name would send a
// pull to Docker Hub).
func pushRegistry(t *testing.T) string {
	t.Helper()
	return registry.Start(t).Addr
}

// TestRunRm: --rm leaves nothing in ps -a, also when the process fails.
func TestRunRm(t *testing.T) {
	e := newEngine(t)
	e.must("run", "--rm", builtin, "true")
	e.nook("run", "--rm", builtin, "sh", "-c", "exit 1")
	id := e.runD("--rm", builtin, "sh", "-c", "exit 0")
	waitFor(t, "the --rm -d container to go", func() (bool, string) {
		r := e.nook("ps", "-aq")
		return r.Out() == "", r.Stdout
	})
	if r := e.nook("inspect", id); r.Code == 0 {
		t.Errorf("inspect of a removed container succeeded: %s", r)
	}
}

// probeReport runs /probe in a container of the probe image with args
// (flags before the image) and decodes its report.
func probeReport(t *testing.T, e *engine, image string, flags ...string) *report.Report {
	t.Helper()
	args := append(append([]string{"run", "--rm"}, flags...), image, "/probe")
	r := e.nook(args...)
	if r.Code != 0 {
		t.Fatal(r)
	}
	var rep report.Report
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		t.Fatalf("decoding the probe's report: %v\n%s", err, r)
	}
	return &rep
}

// TestRunConfig: -e, --env-file, -w, -u, --hostname reach the process.
func TestRunConfig(t *testing.T) {
	needProbe(t)
	e := newEngine(t)
	_, ref := pushBusybox(t, "probe")
	envFile := filepath.Join(e.dir, "env")
	os.WriteFile(envFile, []byte("# a comment\nFROM_FILE=yes\n\nSPACED=a b\n"), 0o644)
	rep := probeReport(t, e, ref, "-e", "A=1", "--env-file", envFile, "-w", "/tmp", "-u", "1000:1000", "--hostname", "boxy")
	for k, want := range map[string]string{"A": "1", "FROM_FILE": "yes", "SPACED": "a b", "HOSTNAME": "boxy"} {
		if got, ok := rep.Getenv(k); !ok || got != want {
			t.Errorf("$%s = %q (set: %v), want %q", k, got, ok, want)
		}
	}
	if _, ok := rep.Getenv("PATH"); !ok {
		t.Error("no PATH from the image")
	}
	if rep.Cwd != "/tmp" || rep.UID != 1000 || rep.GID != 1000 || rep.Hostname != "boxy" {
		t.Errorf("cwd %q uid %d gid %d hostname %q, want /tmp 1000 1000 boxy", rep.Cwd, rep.UID, rep.GID, rep.Hostname)
	}
	if rep.PID != 1 {
		t.Errorf("without --init the process is pid %d, want 1", rep.PID)
	}

	rep = probeReport(t, e, ref, "--init", "-u", "user")
	if rep.PID == 1 || rep.PPID != 1 {
		t.Errorf("with --init: pid %d ppid %d, want an init as pid 1 and its child", rep.PID, rep.PPID)
	}
	if rep.UID != 1000 {
		t.Errorf("-u user: uid %d, want 1000 from /etc/passwd", rep.UID)
	}

	if got := e.must("run", "--rm", "--entrypoint", "/bin/echo", ref, "via", "entrypoint"); got != "via entrypoint" {
		t.Errorf("--entrypoint /bin/echo: %q", got)
	}
}

// TestSecurityOptions: capabilities, no-new-privileges and seccomp as the
// process sees them.
func TestSecurityOptions(t *testing.T) {
	needProbe(t)
	e := newEngine(t)
	_, ref := pushBusybox(t, "probe")

	def := probeReport(t, e, ref)
	if def.Caps.Effective.Has("CAP_SYS_ADMIN") || !def.Caps.Effective.Has("CAP_CHOWN") {
		t.Errorf("default capabilities: %v", def.Caps.Effective.Names)
	}
	if def.Seccomp != 2 {
		t.Errorf("default seccomp mode %d, want 2 (filter)", def.Seccomp)
	}
	rep := probeReport(t, e, ref, "--cap-drop", "ALL", "--cap-add", "NET_ADMIN")
	if names := rep.Caps.Effective.Names; len(names) != 1 || names[0] != "CAP_NET_ADMIN" {
		t.Errorf("--cap-drop ALL --cap-add NET_ADMIN: effective %v", names)
	}
	rep = probeReport(t, e, ref, "--privileged")
	if !rep.Caps.Effective.Has("CAP_SYS_ADMIN") {
		t.Errorf("--privileged: effective %v", rep.Caps.Effective.Names)
	}
	rep = probeReport(t, e, ref, "--security-opt", "no-new-privileges", "--security-opt", "seccomp=unconfined")
	if !rep.NoNewPrivs || rep.Seccomp != 0 {
		t.Errorf("no-new-privileges + seccomp=unconfined: NoNewPrivs %v seccomp %d", rep.NoNewPrivs, rep.Seccomp)
	}
}

// TestNetworkModes: --network none has only lo; --network host shares the
// host's network namespace.
func TestNetworkModes(t *testing.T) {
	e := newEngine(t)
	out := e.must("run", "--rm", "--network", "none", builtin, "cat", "/proc/net/dev")
	var ifaces []string
	for _, l := range strings.Split(out, "\n") {
		if name, _, ok := strings.Cut(l, ":"); ok {
			ifaces = append(ifaces, strings.TrimSpace(name))
		}
	}
	if len(ifaces) != 1 || ifaces[0] != "lo" {
		t.Errorf("--network none: interfaces %v, want [lo]", ifaces)
	}
	host, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	if got := e.must("run", "--rm", "--network", "host", builtin, "readlink", "/proc/self/ns/net"); got != host {
		t.Errorf("--network host: net namespace %q, host's %q", got, host)
	}

	// --network container:NAME joins that container's namespace.
	e.must("run", "-d", "--name", "netbase", builtin, "sleep", "1000")
	base := e.must("exec", "netbase", "readlink", "/proc/self/ns/net")
	if got := e.must("run", "--rm", "--network", "container:netbase", builtin, "readlink", "/proc/self/ns/net"); got != base {
		t.Errorf("--network container:netbase: net namespace %q, netbase's %q", got, base)
	}
	e.must("rm", "-f", "netbase")
}
