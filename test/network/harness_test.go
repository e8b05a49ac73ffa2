package network

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nook-containers/nook/test/nooktest"
)

var (
	nookBin  = os.Getenv("NOOK")
	probeBin = os.Getenv("NOOK_PROBE")
	enabled  bool
)

// patience bounds every wait: generous, because the VM lane runs these
// binaries about ten times slower. Waits poll; none sleeps a fixed time.
const patience = 90 * time.Second

// image is the image nook makes offline from the host's busybox.
const image = "nook.local/busybox"

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 || nookBin == "" || probeBin == "" {
		fmt.Println("network: skipped (needs root, NOOK=path/to/bin/nook and NOOK_PROBE=path/to/bin/probe)")
		os.Exit(m.Run())
	}
	for _, p := range []*string{&nookBin, &probeBin} {
		abs, err := filepath.Abs(*p)
		if err == nil {
			_, err = os.Stat(abs)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "network:", err)
			os.Exit(1)
		}
		*p = abs
	}
	for _, tool := range []string{"ip", "nsenter", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			fmt.Fprintf(os.Stderr, "network: %s not found (apt-get install iproute2 util-linux nftables)\n", tool)
			os.Exit(1)
		}
	}
	enabled = true
	os.Exit(m.Run())
}

// host is one test's machine: a network namespace of its own in which
// every nook command runs, with its own engine root and network state.
// What the tests call "the host" (127.0.0.1, the bridges' addresses) is
// this namespace.
type host struct {
	t       *testing.T
	dir     string // the test's temp dir
	root    string // nook --root
	netRoot string // NOOK_NETWORK_ROOT
	ns      string // the namespace's name (ip netns)
	nsPath  string // /run/netns/<ns>

	mu         sync.Mutex
	containers []string    // names, in creation order: removed at cleanup
	networks   []string    // names, in creation order: removed at cleanup
	pids       []procID    // container processes seen: checked at cleanup
	bg         []*exec.Cmd // processes the test started: killed at cleanup
}

// procID names a process across PID reuse.
type procID struct {
	pid   int
	start string
	what  string
}

// uniqueName returns prefix-<8 random hex digits>.
func uniqueName(prefix string) string {
	b := make([]byte, 4)
	rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

func newHost(t *testing.T) *host {
	t.Helper()
	if !enabled {
		t.Skip("needs root, NOOK and NOOK_PROBE")
	}
	dir := t.TempDir()
	h := &host{t: t, dir: dir, root: filepath.Join(dir, "root"), netRoot: filepath.Join(dir, "network"), ns: uniqueName("nnt")}
	h.nsPath = "/run/netns/" + h.ns
	mustRun(t, "ip", "netns", "add", h.ns)
	t.Cleanup(h.cleanup)
	mustRun(t, "ip", "-n", h.ns, "link", "set", "lo", "up")
	return h
}

// mustRun runs a command and fails the test unless it succeeds.
func mustRun(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// result is one run of nook.
// result is a finished nook command.
type result = nooktest.Result

// inNS returns a command that runs name args... in the test's namespace.
// nsenter enters only the network namespace: nook's mounts (container
// root filesystems, its namespaces' bind mounts) land in the machine's
// mount namespace as usual.
func (h *host) inNS(name string, args ...string) *exec.Cmd {
	cmd := exec.Command("nsenter", append([]string{"--net=" + h.nsPath, "--", name}, args...)...)
	cmd.Env = append(os.Environ(), "NOOK_NETWORK_ROOT="+h.netRoot)
	cmd.Dir = h.dir
	return cmd
}

// exec runs nook --root ROOT args... in the test's namespace and waits for
// it, at most patience. It is safe to call from any goroutine.
func (h *host) exec(args ...string) (result, error) {
	return h.execWithin(patience, args...)
}

// execWithin is exec with another bound.
func (h *host) execWithin(limit time.Duration, args ...string) (result, error) {
	cmd := h.inNS(nookBin, append([]string{"--root", h.root}, args...)...)
	return nooktest.Run(cmd, args, h.dir, limit)
}

// nook runs nook and returns its result; it fails the test only if nook
// could not be run.
func (h *host) nook(args ...string) result {
	h.t.Helper()
	r, err := h.exec(args...)
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

// must runs nook and fails the test unless it exits 0; it returns stdout
// without the trailing newline.
func (h *host) must(args ...string) string {
	h.t.Helper()
	r := h.nook(args...)
	if r.Code != 0 {
		h.t.Fatal(r)
	}
	return r.Out()
}

// probeMount is the -v that puts the probe at /probe in a container.
func probeMount() []string { return []string{"-v", probeBin + ":/probe:ro"} }

// serverCmd runs the probe as a TCP server on port 8000 that answers every
// connection with "peer=<client address>".
var serverCmd = []string{"/probe", "serve", "0.0.0.0:8000"}

// run starts a detached container named name (`nook run -d --name name
// args...`) and returns its ID; it is removed at cleanup. Safe to call from
// any goroutine (errors are returned, not fatal).
func (h *host) run(name string, args ...string) (string, error) {
	return h.runWithin(patience, name, args...)
}

// runWithin is run with another bound.
func (h *host) runWithin(limit time.Duration, name string, args ...string) (string, error) {
	h.mu.Lock()
	h.containers = append(h.containers, name)
	h.mu.Unlock()
	r, err := h.execWithin(limit, append([]string{"run", "-d", "--name", name}, args...)...)
	if err != nil {
		return "", err
	}
	id := r.Out()
	if r.Code != 0 || id == "" || strings.ContainsAny(id, " \n") {
		return "", fmt.Errorf("want the container's ID: %s", r)
	}
	return id, nil
}

// runD is run that fails the test on error.
func (h *host) runD(name string, args ...string) string {
	h.t.Helper()
	id, err := h.run(name, args...)
	if err != nil {
		h.t.Fatal(err)
	}
	h.inspect(name)
	return id
}

// network creates a network (`nook network create flags... name`); it is
// removed at cleanup.
func (h *host) network(name string, flags ...string) netInfo {
	h.t.Helper()
	h.mu.Lock()
	h.networks = append(h.networks, name)
	h.mu.Unlock()
	h.must(append(append([]string{"network", "create"}, flags...), name)...)
	h.checkNetRoot(name)
	return h.networkInfo(name)
}

// checkNetRoot fails the test if nook did not keep network name's state
// under the test's NOOK_NETWORK_ROOT: it would then be sharing the
// machine's network state while making kernel objects in the test's
// namespace.
func (h *host) checkNetRoot(name string) {
	h.t.Helper()
	if _, err := os.Stat(filepath.Join(h.netRoot, "networks", name+".json")); err != nil {
		h.t.Fatalf("nook does not keep its network state in NOOK_NETWORK_ROOT=%s: %v", h.netRoot, err)
	}
}

// netInfo is the part of `nook network inspect` the tests read.
type netInfo struct {
	Name     string
	Internal bool
	IPAM     struct {
		Config []struct{ Subnet, Gateway string }
	}
	Options map[string]string
}

func (n netInfo) subnet() string  { return n.IPAM.Config[0].Subnet }
func (n netInfo) gateway() string { return n.IPAM.Config[0].Gateway }
func (n netInfo) bridge() string  { return n.Options["com.docker.network.bridge.name"] }

func (h *host) networkInfo(name string) netInfo {
	h.t.Helper()
	out := h.must("network", "inspect", name)
	var ns []netInfo
	if err := json.Unmarshal([]byte(out), &ns); err != nil || len(ns) != 1 || len(ns[0].IPAM.Config) != 1 {
		h.t.Fatalf("network inspect %s: want one network with one IPAM config: %v\n%s", name, err, out)
	}
	return ns[0]
}

// container is the part of `nook inspect` the tests read: Docker's shape.
type container struct {
	ID    string `json:"Id"`
	Name  string
	State struct {
		Status     string
		Running    bool
		Pid        int
		MonitorPid int
	}
	NetworkSettings struct {
		IPAddress  string
		Gateway    string
		MacAddress string
		Ports      map[string][]struct{ HostIp, HostPort string }
		Networks   map[string]struct {
			IPAddress   string
			IPPrefixLen int
			Gateway     string
			MacAddress  string
		}
		SandboxKey string
	}
}

// inspect returns the container's inspect record and remembers its process
// for the cleanup check.
func (h *host) inspect(name string) container {
	h.t.Helper()
	out := h.must("inspect", name)
	var cs []container
	if err := json.Unmarshal([]byte(out), &cs); err != nil || len(cs) != 1 {
		h.t.Fatalf("inspect %s: want a JSON array of one container: %v\n%s", name, err, out)
	}
	if pid := cs[0].State.Pid; pid > 0 {
		if start, ok := startTime(pid); ok {
			h.mu.Lock()
			h.pids = append(h.pids, procID{pid, start, "process of container " + name})
			h.mu.Unlock()
		}
	}
	return cs[0]
}

// startTime returns field 22 of /proc/PID/stat, or false if the process
// is gone or a zombie.
func startTime(pid int) (string, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", false
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return "", false
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 20 || f[0] == "Z" || f[0] == "X" {
		return "", false
	}
	return f[19], true
}

// alive reports whether p still runs (and is the same process).
func (p procID) alive() bool {
	s, ok := startTime(p.pid)
	return ok && s == p.start
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

// background starts cmd, collecting its output; it is killed at cleanup.
func (h *host) background(cmd *exec.Cmd) *lineBuffer {
	h.t.Helper()
	buf := &lineBuffer{}
	cmd.Stdout, cmd.Stderr = buf, buf
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	h.mu.Lock()
	h.bg = append(h.bg, cmd)
	h.mu.Unlock()
	return buf
}

// cleanup removes the test's containers and networks the way a user
// would, checks that nothing of theirs is left, and deletes the namespace.
func (h *host) cleanup() {
	t := h.t
	for i := len(h.containers) - 1; i >= 0; i-- {
		r, err := h.exec("rm", "-f", h.containers[i])
		if err != nil {
			t.Error(err)
		} else if r.Code != 0 && !strings.Contains(strings.ToLower(r.Stderr), "no such") {
			t.Errorf("cleanup: %s", r)
		}
	}
	for i := len(h.networks) - 1; i >= 0; i-- {
		r, err := h.exec("network", "rm", h.networks[i])
		if err != nil {
			t.Error(err)
		} else if r.Code != 0 && !strings.Contains(strings.ToLower(r.Stderr), "no such") {
			t.Errorf("cleanup: %s", r)
		}
	}
	for _, c := range h.bg {
		if c.ProcessState == nil {
			c.Process.Kill() // our own child
			c.Wait()
		}
	}
	h.checkLeaks()
	if out, err := exec.Command("ip", "netns", "del", h.ns).CombinedOutput(); err != nil {
		t.Errorf("cleanup: ip netns del %s: %v: %s", h.ns, err, out)
	}
}
