package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nook-containers/nook/test/nooktest"
	"github.com/nook-containers/nook/test/registry"
)

var (
	nookBin  = os.Getenv("NOOK")
	probeBin = os.Getenv("NOOK_PROBE")
	enabled  bool
)

// patience bounds every wait: generous, because the VM lane runs these
// binaries about ten times slower. Waits poll; none sleeps a fixed time.
const patience = 90 * time.Second

// builtin is the image nook makes offline from the host's busybox.
const builtin = "nook.local/busybox"

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 || nookBin == "" {
		fmt.Println("engine: skipped (needs root and NOOK=path/to/bin/nook; see make test-engine)")
		os.Exit(m.Run())
	}
	if _, err := os.Stat(nookBin); err != nil {
		fmt.Fprintln(os.Stderr, "engine: NOOK:", err)
		os.Exit(1)
	}
	enabled = true
	// Networks are the host's (/run/nook/network): when nook had none
	// before, remove what the tests made (the default bridge nook0 and
	// nook's nftables table) afterwards.
	fresh := true
	if ents, err := os.ReadDir("/run/nook/network/networks"); err == nil && len(ents) > 0 {
		fresh = false
	}
	code := m.Run()
	if fresh {
		tmp, err := os.MkdirTemp("", "nook-engine-reset-")
		if err == nil {
			if out, err := exec.Command(nookBin, "--root", filepath.Join(tmp, "root"), "system", "reset", "-f").CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "engine: removing the networks the tests made: %v: %s\n", err, out)
				code = 1
			}
			os.RemoveAll(tmp)
		}
	}
	os.Exit(code)
}

// engine is one test's nook: its own --root and temp dir.
type engine struct {
	t    *testing.T
	dir  string // the test's temp dir: root, files, logs
	root string // --root

	mu   sync.Mutex
	bg   []*exec.Cmd // background nook commands (logs -f): killed at cleanup
	pids []procID    // container and monitor processes seen: checked at cleanup
}

// procID names a process across PID reuse.
type procID struct {
	pid   int
	start uint64
	what  string
}

func newEngine(t *testing.T) *engine {
	t.Helper()
	if !enabled {
		t.Skip("needs root and NOOK (and NOOK_PROBE for some tests)")
	}
	dir := t.TempDir()
	e := &engine{t: t, dir: dir, root: filepath.Join(dir, "root")}
	t.Cleanup(e.cleanup)
	return e
}

// needProbe skips the test when the probe is not available.
func needProbe(t *testing.T) {
	t.Helper()
	if probeBin == "" {
		t.Skip("needs NOOK_PROBE")
	}
}

// result is one run of nook.
// result is a finished nook command.
type result = nooktest.Result

// nook runs nook --root ROOT args... and waits for it.
func (e *engine) nook(args ...string) result {
	e.t.Helper()
	return e.nookIn(nil, args...)
}

// nookIn is nook with stdin.
func (e *engine) nookIn(stdin io.Reader, args ...string) result {
	e.t.Helper()
	r, err := e.exec(stdin, args...)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// exec runs nook --root ROOT args... and waits for it, at most patience.
// It is safe to call from any goroutine.
func (e *engine) exec(stdin io.Reader, args ...string) (result, error) {
	full := append([]string{"--root", e.root}, args...)
	cmd := exec.Command(nookBin, full...)
	cmd.Dir, cmd.Stdin = e.dir, stdin
	return nooktest.Run(cmd, args, e.dir, patience)
}

// must runs nook and fails the test unless it exits 0; it returns stdout
// without the trailing newline.
func (e *engine) must(args ...string) string {
	e.t.Helper()
	r := e.nook(args...)
	if r.Code != 0 {
		e.t.Fatal(r)
	}
	return r.Out()
}

// runD runs `run -d args...` and returns the container's ID.
func (e *engine) runD(args ...string) string {
	e.t.Helper()
	id := e.must(append([]string{"run", "-d"}, args...)...)
	if id == "" || strings.ContainsAny(id, " \n") {
		e.t.Fatalf("run -d printed %q, want the container's ID", id)
	}
	e.remember(id)
	return id
}

// background starts nook args... with stdout on a pipe; it is killed at
// cleanup if still running.
func (e *engine) background(args ...string) (*exec.Cmd, *lineBuffer) {
	e.t.Helper()
	cmd := exec.Command(nookBin, append([]string{"--root", e.root}, args...)...)
	buf := &lineBuffer{}
	cmd.Stdout, cmd.Stderr = buf, buf
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.mu.Lock()
	e.bg = append(e.bg, cmd)
	e.mu.Unlock()
	return cmd, buf
}

// lineBuffer collects output written from another goroutine.
type lineBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lineBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lineBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor polls cond until it holds; it fails the test after patience,
// saying what it waited for and what cond last reported.
func waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(patience)
	delay := 10 * time.Millisecond
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; last: %s", patience, what, last)
		}
		time.Sleep(delay)
		delay = min(delay*2, 200*time.Millisecond)
	}
}

// container is the part of `nook inspect`'s output the tests read: Docker's
// shape.
type container struct {
	ID    string `json:"Id"`
	Name  string `json:"Name"`
	State struct {
		Status     string
		Running    bool
		Pid        int
		ExitCode   int
		StartedAt  string
		FinishedAt string
		OOMKilled  bool
		MonitorPid int // nook's own, if shown
	}
	Config struct {
		Image    string
		Cmd      []string
		Env      []string
		Hostname string
	}
	HostConfig struct {
		Memory        int64
		NanoCpus      int64
		PidsLimit     *int64
		RestartPolicy struct {
			Name              string
			MaximumRetryCount int
		}
	}
	RestartCount int
	LogPath      string
	Mounts       []struct {
		Type, Name, Source, Destination string
		RW                              bool
	}
}

// inspect returns the container's inspect record and remembers its
// processes for the cleanup check.
func (e *engine) inspect(name string) container {
	e.t.Helper()
	r := e.nook("inspect", name)
	if r.Code != 0 {
		e.t.Fatal(r)
	}
	var cs []container
	if err := json.Unmarshal([]byte(r.Stdout), &cs); err != nil || len(cs) != 1 {
		e.t.Fatalf("inspect %s: want a JSON array of one container: %v\n%s", name, err, r.Stdout)
	}
	e.note(cs[0].State.Pid, "container "+name)
	e.note(cs[0].State.MonitorPid, "monitor of "+name)
	return cs[0]
}

// remember records a container's processes, if it has any.
func (e *engine) remember(name string) {
	e.t.Helper()
	r := e.nook("inspect", name)
	var cs []container
	if json.Unmarshal([]byte(r.Stdout), &cs) == nil && len(cs) == 1 {
		e.note(cs[0].State.Pid, "container "+name)
		e.note(cs[0].State.MonitorPid, "monitor of "+name)
	}
}

func (e *engine) note(pid int, what string) {
	if pid <= 0 {
		return
	}
	if start, ok := startTime(pid); ok {
		e.mu.Lock()
		e.pids = append(e.pids, procID{pid, start, what})
		e.mu.Unlock()
	}
}

// status is inspect's .State.Status.
func (e *engine) status(name string) string {
	e.t.Helper()
	return e.inspect(name).State.Status
}

// waitStatus waits until the container's status is want.
func (e *engine) waitStatus(name, want string) container {
	e.t.Helper()
	var c container
	waitFor(e.t, name+" to be "+want, func() (bool, string) {
		c = e.inspect(name)
		return c.State.Status == want, fmt.Sprintf("%+v", c.State)
	})
	return c
}

// wantError checks that r is one of nook's own errors: exit 125 from run
// and create (Docker's code for "the engine failed", as opposed to the
// container's own code), a non-zero exit from other commands (Docker's CLI
// exits 1 there), and the error as one line "nook: ..." that ends stderr
// and mentions each of the words (case-insensitively). Progress lines
// before it are tolerated (and logged); anything after it, or a second
// "nook: " line, is not.
func wantError(t *testing.T, r result, words ...string) {
	t.Helper()
	if len(r.Args) > 0 && (r.Args[0] == "run" || r.Args[0] == "create") {
		if r.Code != 125 {
			t.Errorf("want exit 125 (nook's own error), got %s", r)
			return
		}
	} else if r.Code == 0 {
		t.Errorf("want an error, got %s", r)
		return
	}
	lines := strings.Split(strings.TrimRight(r.Stderr, "\n"), "\n")
	msg := lines[len(lines)-1]
	var errLines int
	for _, l := range lines {
		if strings.HasPrefix(l, "nook: ") {
			errLines++
		}
	}
	switch {
	case !strings.HasPrefix(msg, "nook: ") || errLines != 1:
		t.Errorf("want the error as one line \"nook: ...\" at the end of stderr, got %q", r.Stderr)
	case len(lines) > 1:
		t.Logf("note: stderr has %d line(s) before the error: %q", len(lines)-1, lines[:len(lines)-1])
	}
	for _, w := range words {
		if !strings.Contains(strings.ToLower(msg), strings.ToLower(w)) {
			t.Errorf("the error does not mention %q: %q", w, msg)
		}
	}
}

// pushBusybox starts a registry and pushes the busybox image (with the
// probe when NOOK_PROBE is set) to it.
func pushBusybox(t *testing.T, repo string) (*registry.Registry, string) {
	t.Helper()
	reg := registry.Start(t)
	return reg, registry.PushBusybox(t, reg, repo, nil)
}

// writeRootfs writes the busybox root filesystem (and the probe, when set)
// into dir, as a --rootfs for nook.
func writeRootfs(t *testing.T, dir string) {
	t.Helper()
	entries, err := registry.BusyboxEntries(probeBin)
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range entries {
		p := filepath.Join(dir, en.Name)
		var err error
		switch {
		case strings.HasSuffix(en.Name, "/"):
			mode := en.Mode
			if mode == 0 {
				mode = 0o755
			}
			if err = os.MkdirAll(p, 0o755); err == nil {
				err = os.Chmod(p, os.FileMode(mode&0o777)|modeBits(mode))
			}
		case en.Linkname != "":
			err = os.Symlink(en.Linkname, p)
		default:
			mode := en.Mode
			if mode == 0 {
				mode = 0o644
			}
			err = os.WriteFile(p, en.Content, os.FileMode(mode))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func modeBits(m int64) os.FileMode {
	var fm os.FileMode
	if m&0o1000 != 0 {
		fm |= os.ModeSticky
	}
	return fm
}

// rootfsTar is the busybox root filesystem as a tar archive, for import.
func rootfsTar(t *testing.T) []byte {
	t.Helper()
	entries, err := registry.BusyboxEntries(probeBin)
	if err != nil {
		t.Fatal(err)
	}
	data, err := registry.Tar(entries)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
