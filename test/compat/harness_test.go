package compat

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nook-containers/nook/test/nooktest"
)

var (
	runcBin  = envOr("RUNC", "/usr/sbin/runc")
	nookBin  = envOr("NOOK_RUNTIME", "../../bin/nook-runtime")
	busybox  = "/bin/busybox"
	workDir  string     // everything the suite makes on disk
	rootfs   string     // the one rootfs every bundle points at (read-only)
	baseSpec specs.Spec // `runc spec`, adapted
	testdata string     // absolute path of ./testdata

	idsMu sync.Mutex
	ids   []string // every container id the suite used, for the final leak check
	seq   atomic.Int64
)

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func TestMain(m *testing.M) {
	if reason := skipReason(); reason != "" {
		fmt.Println("compat: skipped:", reason)
		os.Exit(m.Run())
	}
	var err error
	if nookBin, err = filepath.Abs(nookBin); err != nil {
		panic(err)
	}
	testdata, _ = filepath.Abs("testdata")
	workDir, err = os.MkdirTemp("", "nook-compat-")
	if err != nil {
		panic(err)
	}
	if err := setup(); err != nil {
		fmt.Fprintln(os.Stderr, "compat: setting up:", err)
		os.RemoveAll(workDir)
		os.Exit(1)
	}
	code := m.Run()
	if leaks := sweep(); len(leaks) > 0 {
		fmt.Fprintln(os.Stderr, "compat: left behind:\n  "+strings.Join(leaks, "\n  "))
		if code == 0 {
			code = 1
		}
	}
	os.RemoveAll(workDir)
	os.Exit(code)
}

// skipReason says why the suite cannot run here, or "".
func skipReason() string {
	if os.Geteuid() != 0 {
		return "needs root"
	}
	if _, err := exec.LookPath(runcBin); err != nil {
		return "no runc (" + runcBin + "; apt-get install runc, or set RUNC)"
	}
	if _, err := os.Stat(nookBin); err != nil {
		return "no nook-runtime at " + nookBin + " (make build, or set NOOK_RUNTIME)"
	}
	if _, err := os.Stat(busybox); err != nil {
		return "no " + busybox + " (apt-get install busybox-static)"
	}
	return ""
}

// setup makes the shared rootfs and the base spec.
func setup() error {
	rootfs = filepath.Join(workDir, "rootfs")
	if err := makeRootfs(rootfs); err != nil {
		return err
	}
	// The base config is runc's own default spec...
	dir := filepath.Join(workDir, "spec")
	os.Mkdir(dir, 0o755)
	if out, err := exec.Command(runcBin, "spec", "--bundle", dir).CombinedOutput(); err != nil {
		return fmt.Errorf("runc spec: %v: %s", err, out)
	}
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, &baseSpec); err != nil {
		return err
	}
	// ...adapted: no terminal (nothing here relays one), a program that
	// waits, the shared rootfs by absolute path (runc refuses a symlinked
	// rootfs, and every scenario's bundle is a directory of its own), an
	// annotation so that state shows annotations.
	baseSpec.Process.Terminal = false
	baseSpec.Process.Args = []string{"sleep", "300"}
	baseSpec.Root.Path = rootfs
	baseSpec.Annotations = map[string]string{"org.nook.compat": "yes"}
	// runc 1.1's spec asks for ambient capabilities without inheritable
	// ones, which the kernel refuses to raise; runc and nook warn and go on
	// (scenario "runc spec unmodified" checks it), the warning would only
	// clutter every other scenario's stderr.
	baseSpec.Process.Capabilities.Ambient = nil
	return nil
}

// makeRootfs makes busybox's tree: /bin/busybox and a symlink per applet,
// the usual mount points, /etc/passwd and /etc/group.
func makeRootfs(dir string) error {
	for _, d := range []string{"bin", "etc", "proc", "sys", "dev", "tmp", "root"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := nooktest.CopyFile(busybox, filepath.Join(dir, "bin", "busybox"), 0o755); err != nil {
		return err
	}
	out, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		return err
	}
	for _, applet := range strings.Fields(string(out)) {
		if applet != "busybox" {
			os.Symlink("busybox", filepath.Join(dir, "bin", applet))
		}
	}
	os.Chmod(filepath.Join(dir, "tmp"), 0o1777)
	os.WriteFile(filepath.Join(dir, "etc", "passwd"), []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o644)
	return os.WriteFile(filepath.Join(dir, "etc", "group"), []byte("root:x:0:\n"), 0o644)
}

// sweep deletes every container left under the suite's state roots and
// lists what is still there: state roots' containers, cgroups named after
// the suite's ids.
func sweep() []string {
	var leaks []string
	roots, _ := filepath.Glob(filepath.Join(workDir, "*", "*", "root"))
	for _, root := range roots {
		bin := runcBin
		if filepath.Base(filepath.Dir(root)) == "nook" {
			bin = nookBin
		}
		out, _ := exec.Command(bin, "--root", root, "list", "-q").Output()
		for _, id := range strings.Fields(string(out)) {
			leaks = append(leaks, fmt.Sprintf("container %s under %s", id, root))
			exec.Command(bin, "--root", root, "delete", "--force", id).Run()
		}
	}
	idsMu.Lock()
	defer idsMu.Unlock()
	for _, id := range ids {
		leaks = append(leaks, cgroupsOf(id)...)
	}
	return leaks
}

// cgroupsOf lists the cgroup directories named id: runc's default is
// /<id> under each hierarchy, nook's /nook/<id>.
func cgroupsOf(id string) []string {
	var found []string
	for _, pat := range []string{"/sys/fs/cgroup/%s", "/sys/fs/cgroup/*/%s", "/sys/fs/cgroup/*/*/%s"} {
		m, _ := filepath.Glob(fmt.Sprintf(pat, id))
		found = append(found, m...)
	}
	return found
}

// side is one runtime's half of a scenario: its binary, its own --root, the
// container id it uses and a scratch directory for pid and log files.
type side struct {
	t      *testing.T
	name   string // "runc" or "nook"
	bin    string
	root   string
	id     string
	dir    string
	bundle string
	extra  []string // more container ids to delete at the end
}

// result is one finished command.
type result struct {
	args           []string
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("%s: exit %d\n  stdout: %q\n  stderr: %q", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// expand replaces $ID, $DIR (the side's scratch dir), $BUNDLE and
// $TESTDATA in args.
func (s *side) expand(args []string) []string {
	out := make([]string, len(args))
	r := strings.NewReplacer("$ID", s.id, "$DIR", s.dir, "$BUNDLE", s.bundle, "$TESTDATA", testdata)
	for i, a := range args {
		out[i] = r.Replace(a)
	}
	return out
}

// run runs the runtime with --root and args (expanded), in the bundle.
func (s *side) run(args ...string) result {
	s.t.Helper()
	return s.runGlobal(nil, args...)
}

// runGlobal is run with global flags before --root's.
func (s *side) runGlobal(global []string, args ...string) result {
	s.t.Helper()
	args = s.expand(args)
	full := append(append(append([]string{}, global...), "--root", s.root), args...)
	cmd := exec.Command(s.bin, full...)
	cmd.Dir = s.bundle
	r, err := nooktest.Run(cmd, args, s.dir, 30*time.Second)
	if err != nil {
		s.t.Fatalf("%s: %v", s.name, err)
	}
	return result{args: append([]string{s.name}, args...), stdout: r.Stdout, stderr: r.Stderr, code: r.Code}
}

// must runs args and fails the test unless they succeed.
func (s *side) must(args ...string) result {
	s.t.Helper()
	r := s.run(args...)
	if r.code != 0 {
		s.t.Fatalf("setting up: %s", r)
	}
	return r
}

// runLog runs args with --log FILE --log-format json and returns the
// result and the last line of FILE.
func (s *side) runLog(args ...string) (result, string) {
	s.t.Helper()
	log := filepath.Join(s.dir, fmt.Sprintf("log-%d.json", seq.Add(1)))
	r := s.runGlobal([]string{"--log", log, "--log-format", "json"}, args...)
	data, _ := os.ReadFile(log)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	return r, lines[len(lines)-1]
}

// state decodes `state ID` into a map (key sets are compared, not types).
func (s *side) state() map[string]any {
	s.t.Helper()
	r := s.must("state", "$ID")
	var m map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
		s.t.Fatalf("%s: decoding state: %v\n%s", s.name, err, r)
	}
	return m
}

func (s *side) status() string {
	st, _ := s.state()["status"].(string)
	return st
}

// waitStatus polls state until the status is want (5 s at most).
func (s *side) waitStatus(want string) string {
	s.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := s.status()
		if st == want || time.Now().After(deadline) {
			return st
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pid is the container's init pid as state reports it.
func (s *side) pid() int {
	p, _ := s.state()["pid"].(float64)
	return int(p)
}

// newSide prepares one runtime's half of a scenario.
func newSide(t *testing.T, name, bin, bundle string) *side {
	dir := filepath.Join(filepath.Dir(bundle), name)
	s := &side{t: t, name: name, bin: bin, root: filepath.Join(dir, "root"), dir: dir, bundle: bundle,
		id: fmt.Sprintf("compat-%d-%d", os.Getpid(), seq.Add(1))}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s.track(s.id)
	t.Cleanup(s.cleanup)
	return s
}

// track records another container id this side makes.
func (s *side) track(id string) {
	idsMu.Lock()
	ids = append(ids, id)
	idsMu.Unlock()
	if id != s.id {
		s.extra = append(s.extra, id)
	}
}

// cleanup deletes the side's containers and checks that their cgroups went
// with them. It runs even when the test failed.
func (s *side) cleanup() {
	for _, id := range append([]string{s.id}, s.extra...) {
		if r := s.runGlobal(nil, "delete", "--force", id); r.code != 0 && !strings.Contains(r.stderr, "does not exist") {
			s.t.Errorf("cleaning up: %s", r)
		}
		// runc removes a cgroup asynchronously to nothing, but a container
		// whose init was just killed may take a moment to leave it.
		deadline := time.Now().Add(2 * time.Second)
		for len(cgroupsOf(id)) > 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		for _, d := range cgroupsOf(id) {
			s.t.Errorf("%s left cgroup %s behind", s.name, d)
		}
	}
}

// writeBundle writes a bundle in dir: config.json from the base spec,
// changed by edit.
func writeBundle(t *testing.T, dir string, edit func(*specs.Spec)) {
	t.Helper()
	data, _ := json.Marshal(baseSpec)
	var s specs.Spec // a deep copy
	json.Unmarshal(data, &s)
	if edit != nil {
		edit(&s)
	}
	data, err := json.MarshalIndent(&s, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

var pidFileRE = regexp.MustCompile(`^[1-9][0-9]*$`)
