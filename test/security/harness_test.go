package security

import (
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

	"github.com/nook-containers/nook/internal/runtime/caps"
	"github.com/nook-containers/nook/internal/runtime/seccomp"
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
		fmt.Println("security: skipped (needs root, NOOK_RUNTIME and NOOK_PROBE; see make test-security)")
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "nook-sec-")
	if err != nil {
		panic(err)
	}
	template = filepath.Join(dir, "rootfs")
	if err := makeRootfs(template); err != nil {
		fmt.Fprintln(os.Stderr, "security: making the template rootfs:", err)
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
// the probe at /probe, /etc/passwd and /etc/group, empty mount points, and a
// marker file that says "this is the container".
func makeRootfs(dir string) error {
	r := nooktest.Rootfs{Busybox: busybox, Probe: probeBin, Dirs: []string{"mnt"}, Files: map[string]string{
		"etc/passwd":       "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
		"etc/group":        "root:x:0:\nnogroup:x:65534:\n",
		"CONTAINER_MARKER": "inside\n",
	}}
	if err := r.Make(dir); err != nil {
		return err
	}
	// The escape helper (testdata/escape): prebuilt by make (NOOK_ESCAPE;
	// the cgroup v2 VM has no go tool on its PATH), else built here.
	if pre := os.Getenv("NOOK_ESCAPE"); pre != "" {
		return nooktest.CopyFile(pre, filepath.Join(dir, "escape"), 0o755)
	}
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "escape"), "./testdata/escape")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building testdata/escape: %v: %s", err, out)
	}
	return nil
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

// newEnv makes a bundle with a copy of the template rootfs and the spec that
// `nook-runtime spec` writes, untouched except for what the test changes
// afterwards, and registers a cleanup that deletes the container and checks
// that nothing is left behind.
func newEnv(t *testing.T) *env {
	t.Helper()
	needRoot(t)
	dir := t.TempDir()
	e := &env{
		t: t, dir: dir, root: filepath.Join(dir, "state"), bundle: filepath.Join(dir, "bundle"),
		id: fmt.Sprintf("sec-%d-%d", os.Getpid(), seq.Add(1)),
	}
	e.rootfs = filepath.Join(e.bundle, "rootfs")
	os.MkdirAll(e.bundle, 0o755)
	if out, err := exec.Command("cp", "-a", template, e.rootfs).CombinedOutput(); err != nil {
		t.Fatalf("copying rootfs: %v: %s", err, out)
	}
	if out, err := exec.Command(runtimeBin, "spec", "-b", e.bundle).CombinedOutput(); err != nil {
		t.Fatalf("nook-runtime spec: %v: %s", err, out)
	}
	data, err := os.ReadFile(filepath.Join(e.bundle, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	e.spec = &specs.Spec{}
	if err := json.Unmarshal(data, e.spec); err != nil {
		t.Fatalf("decoding the default spec: %v", err)
	}
	t.Cleanup(e.cleanup)
	return e
}

// args sets the process arguments.
func (e *env) args(a ...string) *env {
	e.spec.Process.Args = a
	return e
}

// writable makes the root filesystem writable (the default spec has it
// read-only).
func (e *env) writable() *env {
	e.spec.Root.Readonly = false
	return e
}

// dockerCaps gives the process Docker's 14 default capabilities and the
// seccomp profile Docker derives for them: what the nook engine will use.
func (e *env) dockerCaps() *env {
	names := caps.DefaultNames()
	e.spec.Process.Capabilities = &specs.LinuxCapabilities{
		Bounding: names, Effective: names, Permitted: names,
	}
	e.spec.Linux.Seccomp = seccomp.DefaultProfileFor(names)
	return e
}

// sh runs a shell script as the container's program.
func (e *env) sh(script string) *env {
	return e.args("sh", "-c", script)
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
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(90 * time.Second):
		cmd.Process.Kill()
		<-done
		e.t.Fatalf("nook-runtime %s: timed out after 90s", strings.Join(args, " "))
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

// detached runs the container in the background and returns its init's
// host pid.
func (e *env) detached() int {
	e.t.Helper()
	e.writeSpec()
	e.mustRT("run", "-d", e.id)
	return e.state().Pid
}

// probe runs the probe as the container's program and decodes its report.
func (e *env) probe() *report.Report {
	e.t.Helper()
	e.spec.Process.Args = []string{"/probe"}
	r := e.run()
	if r.code != 0 {
		e.t.Fatalf("probe: %s", r)
	}
	return decodeReport(e.t, r)
}

func decodeReport(t *testing.T, r result) *report.Report {
	t.Helper()
	var rep report.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("decoding probe report: %v\n%s", err, r)
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
// cgroup or a state dir behind, or if the host can no longer start a process.
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
	if err := exec.Command("/bin/true").Run(); err != nil {
		e.t.Errorf("the host cannot start /bin/true after the test: %v", err)
	}
}

// variants runs f once with the default spec and once with Docker's
// default capabilities.
func variants(t *testing.T, f func(t *testing.T, e *env)) {
	t.Run("default", func(t *testing.T) { f(t, newEnv(t)) })
	t.Run("dockercaps", func(t *testing.T) { f(t, newEnv(t).dockerCaps()) })
}

// hostSleep starts a `sleep 300` on the host, killed at the end of the test.
func hostSleep(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "300")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-done })
	return cmd
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && len(s) > i+2 && s[i+2] != 'Z'
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func itoa(i int) string { return fmt.Sprint(i) }

// marker is one line printed by attack scripts to say an attack step worked
// or not; scripts echo "OK:<step>" when the kernel let them through.
func ranOK(r result, step string) bool {
	return strings.Contains(r.stdout, "OK:"+step+"\n")
}
