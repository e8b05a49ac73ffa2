package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nook-containers/nook/test/nooktest"
	"github.com/nook-containers/nook/test/probe/report"
)

var (
	runtimeBin = os.Getenv("NOOK_RUNTIME")
	probeBin   = os.Getenv("NOOK_PROBE")
	busybox    = "/bin/busybox"
	template   string // a rootfs made once: busybox, its applets, the probe
)

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 || runtimeBin == "" || probeBin == "" {
		fmt.Println("integration: skipped (needs root, NOOK_RUNTIME and NOOK_PROBE; see make test-root)")
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "nook-it-")
	if err != nil {
		panic(err)
	}
	template = filepath.Join(dir, "rootfs")
	if err := makeRootfs(template); err != nil {
		fmt.Fprintln(os.Stderr, "integration: making the template rootfs:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func needRoot(t *testing.T) {
	t.Helper()
	if template == "" {
		t.Skip("needs root, NOOK_RUNTIME and NOOK_PROBE")
	}
}

// makeRootfs builds a tiny root filesystem: busybox and a symlink per applet,
// the probe at /probe, /etc/passwd and /etc/group, empty mount points.
func makeRootfs(dir string) error {
	r := nooktest.Rootfs{Busybox: busybox, Probe: probeBin, Dirs: []string{"home/user"}, Files: map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
		"etc/group":  "root:x:0:\nuser:x:1000:\nnogroup:x:65534:\n",
	}}
	return r.Make(dir)
}

var seq atomic.Int64

// env is one test's world: a bundle, a state root and a container id.
type env struct {
	t      *testing.T
	dir    string
	root   string // --root
	bundle string
	rootfs string
	id     string
	spec   *specs.Spec
}

// newEnv makes a bundle with a copy of the template rootfs and the base spec,
// and registers a cleanup that deletes the container and checks that nothing
// is left behind.
func newEnv(t *testing.T) *env {
	t.Helper()
	needRoot(t)
	dir := t.TempDir()
	e := &env{
		t: t, dir: dir, root: filepath.Join(dir, "state"), bundle: filepath.Join(dir, "bundle"),
		id: fmt.Sprintf("it-%d-%d", os.Getpid(), seq.Add(1)),
	}
	e.rootfs = filepath.Join(e.bundle, "rootfs")
	os.MkdirAll(e.bundle, 0o755)
	if out, err := exec.Command("cp", "-a", template, e.rootfs).CombinedOutput(); err != nil {
		t.Fatalf("copying rootfs: %v: %s", err, out)
	}
	e.spec = baseSpec()
	t.Cleanup(e.cleanup)
	return e
}

// baseSpec is a small, complete spec: the probe as uid 0, new namespaces,
// the usual mounts.
func baseSpec() *specs.Spec {
	return &specs.Spec{
		Version: specs.Version,
		Root:    &specs.Root{Path: "rootfs"},
		Process: &specs.Process{
			Args: []string{"/probe"},
			Env:  []string{"PATH=/bin", "NOOK_TEST=1"},
			Cwd:  "/",
			Capabilities: &specs.LinuxCapabilities{
				Bounding:  []string{"CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"},
				Effective: []string{"CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"},
				Permitted: []string{"CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"},
			},
		},
		Hostname: "container",
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}},
			{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "size=16m"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		},
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.NetworkNamespace}, {Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace}, {Type: specs.MountNamespace},
			},
			MaskedPaths:   []string{"/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"},
			ReadonlyPaths: []string{"/proc/sys", "/proc/sysrq-trigger", "/proc/bus", "/proc/irq"},
		},
	}
}

// args sets the process arguments.
func (e *env) args(a ...string) *env {
	e.spec.Process.Args = a
	return e
}

func (e *env) writeSpec() {
	e.t.Helper()
	data, err := json.MarshalIndent(e.spec, "", "  ")
	if err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.bundle, "config.json"), data, 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// result is one run of the runtime binary.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
}

// rt runs nook-runtime --root STATE args..., with a time limit.
func (e *env) rt(args ...string) result {
	e.t.Helper()
	return e.rtIn(nil, args...)
}

func (e *env) rtIn(stdin []byte, args ...string) result {
	e.t.Helper()
	full := append([]string{"--root", e.root}, args...)
	cmd := exec.Command(runtimeBin, full...)
	cmd.Dir = e.bundle
	// Files, not pipes: a detached container keeps the runtime's stdout
	// open, and exec.Cmd.Wait would wait for it to close.
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
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
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
		e.t.Fatalf("nook-runtime %s: timed out after 60s", strings.Join(args, " "))
	}
	stdout, _ := os.ReadFile(out.Name())
	stderr, _ := os.ReadFile(errb.Name())
	return result{stdout: string(stdout), stderr: string(stderr), code: cmd.ProcessState.ExitCode()}
}

// mustRT runs the runtime and fails the test on a non-zero exit.
func (e *env) mustRT(args ...string) result {
	e.t.Helper()
	r := e.rt(args...)
	if r.code != 0 {
		e.t.Fatalf("nook-runtime %s: %s", strings.Join(args, " "), r)
	}
	return r
}

// run writes the spec and runs the container in the foreground.
func (e *env) run() result {
	e.t.Helper()
	e.writeSpec()
	return e.rt("run", e.id)
}

// probe runs the probe as the container's program and decodes its report.
func (e *env) probe() *report.Report {
	e.t.Helper()
	e.spec.Process.Args = []string{"/probe"}
	r := e.run()
	if r.code != 0 {
		e.t.Fatalf("probe: %s", r)
	}
	var rep report.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		e.t.Fatalf("decoding probe report: %v\n%s", err, r)
	}
	return &rep
}

// state returns the container's state JSON.
func (e *env) state() specs.State {
	e.t.Helper()
	r := e.mustRT("state", e.id)
	var s specs.State
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		e.t.Fatalf("decoding state: %v\n%s", err, r)
	}
	return s
}

// cleanup deletes the container and fails the test if it left a mount, a
// cgroup or a state dir behind.
func (e *env) cleanup() {
	e.rt("delete", "--force", e.id)
	if _, err := os.Stat(filepath.Join(e.root, e.id)); err == nil {
		e.t.Errorf("state dir %s left behind", filepath.Join(e.root, e.id))
	}
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mi), e.dir) {
		e.t.Errorf("mounts under %s left behind:\n%s", e.dir, nooktest.GrepLines(string(mi), e.dir))
	}
	for _, p := range nooktest.CgroupDirs(e.id) {
		if _, err := os.Stat(p); err == nil {
			e.t.Errorf("cgroup %s left behind", p)
		}
	}
}
