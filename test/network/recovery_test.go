package network

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestMonitorKilled: the monitor of a running container with a published
// port is killed with SIGKILL (nothing of nook runs its cleanup). `nook
// system prune` then leaves the running container's network alone; `nook
// rm -f` and another prune leave nothing behind: no veth, no rule naming
// the container in inet nook, no network namespace, no lease.
func TestMonitorKilled(t *testing.T) {
	h := newHost(t)
	v := h.startVictim("crash", 18085)
	v.kill(t, v.monitor, "the monitor")

	// The container runs on: prune must not take its network away.
	h.must("system", "prune")
	if r := h.hostDial(v.ip+":8000", 10*time.Second); !r.Connected {
		t.Errorf("after the monitor's death and a prune, the victim no longer answers at %s: %+v", v.ip, r)
	}
	if r := h.hostDial(v.published, 10*time.Second); !r.Connected {
		t.Errorf("after the monitor's death and a prune, the published port no longer answers: %+v\n%s\n%s",
			r, h.must("ps", "-a"), h.nftRules())
	}

	h.must("rm", "-f", "victim")
	if v.process.alive() {
		t.Errorf("after rm -f, the victim's process %d still runs", v.process.pid)
	}
	h.must("system", "prune")
	h.checkVictimGone(v, "after rm -f and prune")
}

// TestContainerCrashed: the monitor and then the container's process are
// killed with SIGKILL, as in a crash. `nook system prune` alone removes the
// dead container and everything networking made for it.
func TestContainerCrashed(t *testing.T) {
	h := newHost(t)
	v := h.startVictim("crash2", 18086)
	v.kill(t, v.monitor, "the monitor")
	v.kill(t, v.process, "the container's process")
	h.must("system", "prune")
	if r := h.nook("inspect", "victim"); r.Code == 0 {
		t.Errorf("after prune, the dead container is still there: %s", r.Out())
	}
	h.checkVictimGone(v, "after the crash and a prune")
}

// victim is a container whose end the recovery tests stage.
type victim struct {
	net       netInfo
	id, ip    string
	published string // 127.0.0.1:HOSTPORT
	veth      string // host side
	netns     string // the bind mount of its network namespace
	monitor   procID
	process   procID
}

// startVictim runs a probe server publishing port 8000 on hostPort on a
// new network, and checks what networking made for it.
func (h *host) startVictim(network string, hostPort int) *victim {
	t := h.t
	t.Helper()
	v := &victim{net: h.network(network), published: "127.0.0.1:" + strconv.Itoa(hostPort)}
	v.id = h.runD("victim", append(append([]string{"--network", network, "-p", strconv.Itoa(hostPort) + ":8000"}, probeMount()...),
		append([]string{image}, serverCmd...)...)...)
	c := h.inspect("victim")
	v.ip = c.NetworkSettings.Networks[network].IPAddress
	h.waitServing("victim", v.ip+":8000")
	if r := h.hostDial(v.published, 10*time.Second); !r.Connected {
		t.Fatalf("%s (published): %+v", v.published, r)
	}
	veths := h.ports(v.net.bridge())
	if len(veths) != 1 {
		t.Fatalf("bridge %s has ports %v, want the victim's veth", v.net.bridge(), veths)
	}
	v.veth = veths[0]
	if rules := h.nftRules(); !strings.Contains(rules, v.id) {
		t.Fatalf("inet nook has no rule naming the victim %s:\n%s", v.id, rules)
	}
	v.netns = filepath.Join(h.netRoot, "netns", v.id)
	if !mounted(v.netns) {
		t.Fatalf("the victim's network namespace %s is not mounted", v.netns)
	}

	// Only our own processes: check their command lines first.
	// The monitor execs the lean nook-monitor in place shortly after the
	// container starts; while that execve runs its cmdline reads empty.
	if pid := c.State.MonitorPid; pid <= 0 || !eventually(2*time.Second, func() bool { return cmdlineHas(pid, h.root, v.id) }) {
		t.Fatalf("inspect .State.MonitorPid = %d, which does not look like the victim's monitor", pid)
	}
	if pid := c.State.Pid; pid <= 0 || !cmdlineHas(pid, "/probe", "serve") {
		t.Fatalf("inspect .State.Pid = %d, which does not look like the victim's server", pid)
	}
	start, _ := startTime(c.State.MonitorPid)
	v.monitor = procID{c.State.MonitorPid, start, "the victim's monitor"}
	start, _ = startTime(c.State.Pid)
	v.process = procID{c.State.Pid, start, "the victim's process"}
	return v
}

// kill sends SIGKILL to one of the victim's processes and waits until it
// is gone.
func (v *victim) kill(t *testing.T, p procID, what string) {
	t.Helper()
	if !p.alive() {
		t.Fatalf("%s (pid %d) is not running", what, p.pid)
	}
	if err := unix.Kill(p.pid, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, what+" to die", func() (bool, string) { return !p.alive(), "pid " + strconv.Itoa(p.pid) })
}

// checkVictimGone checks that nothing networking made for the victim is
// left.
func (h *host) checkVictimGone(v *victim, when string) {
	t := h.t
	t.Helper()
	if left := h.ports(v.net.bridge()); len(left) > 0 {
		t.Errorf("%s, bridge %s still has ports %v", when, v.net.bridge(), left)
	}
	for _, l := range h.links() {
		if l.IfName == v.veth {
			t.Errorf("%s, the victim's veth %s still exists", when, v.veth)
		}
	}
	if rules := h.nftRules(); strings.Contains(rules, v.id) {
		t.Errorf("%s, inet nook still names the victim:\n%s", when, rules)
	}
	if mounted(v.netns) {
		t.Errorf("%s, the victim's network namespace is still mounted at %s", when, v.netns)
	}
	if _, err := os.Stat(v.netns); err == nil {
		t.Errorf("%s, %s still exists", when, v.netns)
	}
	if r := h.hostDial(v.published, 2*time.Second); r.Connected {
		t.Errorf("%s, %s still connects: %+v", when, v.published, r)
	}
	if r := h.nook("network", "rm", v.net.Name); r.Code != 0 {
		t.Errorf("%s, the network cannot be removed (a lease left?): %s", when, r)
	}
}

// cmdlineHas reports whether the command line of pid has every one of args.
func cmdlineHas(pid int, args ...string) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return false
	}
	have := strings.Split(string(data), "\x00")
	for _, a := range args {
		if !slices.Contains(have, a) {
			return false
		}
	}
	return true
}

// eventually reports whether f turns true within d.
func eventually(d time.Duration, f func() bool) bool {
	for deadline := time.Now().Add(d); ; time.Sleep(20 * time.Millisecond) {
		if f() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// mounted reports whether path is a mount point in this mount namespace.
func mounted(path string) bool {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) > 4 && f[4] == path {
			return true
		}
	}
	return false
}

// TestKilledMidSetup: `nook run -d --network NET -p PORT:8000` is killed
// with SIGKILL, the client and the container's monitor at once, at several
// points of the container's start: some time after the client started
// (before or while it creates the container and starts the monitor), and
// some time after the monitor started (while it makes the namespace, the
// veth, the lease, the port rules and the DNS server). Only nook's own
// processes are killed; what they started (the network's DNS server, the
// container's process) is left to the recovery. `nook system prune`, then
// `nook rm -f` if the container is still there, must leave nothing of it:
// no veth, no network namespace, no lease, no rule naming it in inet nook,
// no process, nothing answering on the published port; and the network
// must be removable.
func TestKilledMidSetup(t *testing.T) {
	h := newHost(t)
	// The built-in image is made by the first command that names it: make
	// it now, not inside the first run's delay.
	h.must("image", "inspect", image)

	type round struct {
		afterMonitor bool // the delay counts from the monitor's start, else the client's
		delay        time.Duration
	}
	var rounds []round
	for _, after := range []bool{false, true} {
		for _, ms := range []int{0, 5, 15, 30, 60, 120} {
			rounds = append(rounds, round{after, time.Duration(ms) * time.Millisecond})
		}
	}
	seen := map[string]bool{} // container directories of earlier rounds
	for i, r := range rounds {
		what := fmt.Sprintf("killed %v after the client started", r.delay)
		if r.afterMonitor {
			what = fmt.Sprintf("killed %v after the monitor started", r.delay)
		}
		net, name, port := fmt.Sprintf("mid%d", i), fmt.Sprintf("k%d", i), 18100+i
		h.killMidSetup(t, what, net, name, port, r.afterMonitor, r.delay, seen)
	}
}

// killMidSetup is one round of TestKilledMidSetup on a new network net.
func (h *host) killMidSetup(t *testing.T, what, net, name string, port int, afterMonitor bool, delay time.Duration, seen map[string]bool) {
	t.Helper()
	nw := h.network(net)
	h.mu.Lock()
	h.containers = append(h.containers, name)
	h.mu.Unlock()
	published := "127.0.0.1:" + strconv.Itoa(port)

	out, err := os.CreateTemp(h.dir, "run")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	client := h.inNS(nookBin, "--root", h.root, "run", "-d", "--network", net, "-p", strconv.Itoa(port)+":8000",
		"--name", name, image, "sleep", "1000")
	client.Stdout, client.Stderr = out, out
	if err := client.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { client.Wait(); close(exited) }()
	if afterMonitor {
		// Polls: the monitor is the client's child, started once the
		// container is created.
		deadline := time.Now().Add(patience)
	poll:
		for len(h.nookProcs("container-monitor")) == 0 {
			select {
			case <-exited:
				break poll // too late: the run is over
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no monitor after %v", what, patience)
			}
			time.Sleep(time.Millisecond)
		}
	}
	// The delay is the test's point: where in the setup the kill lands.
	time.Sleep(delay)
	client.Process.Kill()
	killed := h.killNook()
	<-exited
	waitFor(t, what+": the killed processes to die", func() (bool, string) {
		for _, p := range killed {
			if p.alive() {
				return false, p.what
			}
		}
		return true, ""
	})

	// What the kill left: the container (if the client got that far) and
	// how far its network got.
	var ids []string
	ents, _ := os.ReadDir(filepath.Join(h.root, "containers"))
	for _, e := range ents {
		if !seen[e.Name()] {
			seen[e.Name()] = true
			ids = append(ids, e.Name())
		}
	}
	procs := h.containerProcs(ids)
	// Read from the files: any nook command would do recovery work.
	got := []string{"no container"}
	for _, id := range ids {
		var st struct{ Status string }
		data, err := os.ReadFile(filepath.Join(h.root, "containers", id, "state.json"))
		if err == nil {
			err = json.Unmarshal(data, &st)
		}
		got[0] = "container " + st.Status
		if err != nil {
			got[0] = "container without state"
		}
	}
	for _, id := range ids {
		if _, err := os.Stat(filepath.Join(h.netRoot, "netns", id)); err == nil {
			got = append(got, "netns")
		}
	}
	if len(h.ports(nw.bridge())) > 0 {
		got = append(got, "veth")
	}
	if len(h.leases(net)) > 0 {
		got = append(got, "lease")
	}
	if strings.Contains(h.nftRules(), "ctr=") {
		got = append(got, "port rules")
	}
	if len(h.nookProcs("dns-server")) > 0 {
		got = append(got, "dns server")
	}
	if len(procs) > 0 {
		got = append(got, fmt.Sprintf("%d container processes", len(procs)))
	}
	t.Logf("%s: left %s; client said %q", what, strings.Join(got, ", "), readFile(out.Name()))

	if r := h.nook("system", "prune"); r.Code != 0 {
		t.Errorf("%s: %s", what, r)
	}
	if r := h.nook("inspect", name); r.Code == 0 {
		if r := h.nook("rm", "-f", name); r.Code != 0 {
			t.Errorf("%s: %s", what, r)
		}
	}

	when := what + ", then prune and rm -f"
	for _, p := range procs {
		if p.alive() {
			t.Errorf("%s: %s (pid %d) still runs", when, p.what, p.pid)
		}
	}
	if left := h.ports(nw.bridge()); len(left) > 0 {
		t.Errorf("%s: bridge %s still has ports %v", when, nw.bridge(), left)
	}
	for _, l := range h.links() {
		if l.IfName != "lo" && l.IfName != "nook0" && l.IfName != nw.bridge() {
			t.Errorf("%s: link %s (master %q) is left", when, l.IfName, l.Master)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(h.netRoot, "netns")); len(ents) > 0 {
		for _, e := range ents {
			t.Errorf("%s: network namespace %s is left (mounted: %v)", when, e.Name(), mounted(filepath.Join(h.netRoot, "netns", e.Name())))
		}
	}
	if ls := h.leases(net); len(ls) > 0 {
		t.Errorf("%s: network %s still has leases %v", when, net, ls)
	}
	if rules := h.nftRules(); strings.Contains(rules, "ctr=") {
		t.Errorf("%s: inet nook still has port rules (containers %v):\n%s", when, ids, rules)
	}
	if r := h.hostDial(published, 2*time.Second); r.Connected {
		t.Errorf("%s: %s still connects: %+v", when, published, r)
	}
	if r := h.nook("network", "rm", net); r.Code != 0 {
		t.Errorf("%s: the network cannot be removed: %s", when, r)
	}
	for _, p := range rootProcs(h.root) {
		t.Errorf("%s: process %d still runs: %s; killing it", when, p.pid, p.what)
		syscallKill(p.pid)
	}
	for _, p := range procs {
		if p.alive() {
			syscallKill(p.pid) // reported above
		}
	}
}

// nookProcs lists the test's nook processes whose command line has arg.
func (h *host) nookProcs(arg string) []procID {
	var out []procID
	for _, p := range rootProcs(h.root) {
		if cmdlineHas(p.pid, arg) {
			out = append(out, p)
		}
	}
	return out
}

// killNook sends SIGKILL to the test's nook processes but its networks'
// DNS servers (what nook started and leaves running on purpose) until
// none is left, and returns those it killed. The client may be starting
// the monitor meanwhile, hence the loop.
func (h *host) killNook() []procID {
	var killed []procID
	for {
		var more bool
		for _, p := range rootProcs(h.root) {
			if cmdlineHas(p.pid, engineDNSServerArg) || slices.Contains(killed, p) {
				continue
			}
			unix.Kill(p.pid, unix.SIGKILL)
			killed, more = append(killed, p), true
		}
		if !more {
			return killed
		}
	}
}

// engineDNSServerArg is the hidden command of a network's DNS server
// (`nook --root ROOT dns-server NETWORK`).
const engineDNSServerArg = "dns-server"

// containerProcs lists the processes of the containers ids: those in
// their cgroup (/nook/ID) or in their network namespace.
func (h *host) containerProcs(ids []string) []procID {
	var out []procID
	nsIno := map[uint64]string{}
	for _, id := range ids {
		var st unix.Stat_t
		if unix.Stat(filepath.Join(h.netRoot, "netns", id), &st) == nil && mounted(filepath.Join(h.netRoot, "netns", id)) {
			nsIno[st.Ino] = id
		}
	}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		owner := ""
		if data, err := os.ReadFile("/proc/" + e.Name() + "/cgroup"); err == nil {
			for _, id := range ids {
				if strings.Contains(string(data), ":/nook/"+id+"\n") {
					owner = id
				}
			}
		}
		var st unix.Stat_t
		if owner == "" && unix.Stat("/proc/"+e.Name()+"/ns/net", &st) == nil {
			owner = nsIno[st.Ino]
		}
		if owner == "" || cmdlineHas(pid, "--root", h.root) {
			continue
		}
		if start, ok := startTime(pid); ok {
			out = append(out, procID{pid, start, "process of container " + owner[:min(12, len(owner))]})
		}
	}
	return out
}

// leases lists the containers with a lease in network net's state file.
func (h *host) leases(net string) []string {
	h.t.Helper()
	data, err := os.ReadFile(filepath.Join(h.netRoot, "networks", net+".json"))
	if os.IsNotExist(err) {
		return nil
	}
	var s struct{ Members map[string]json.RawMessage }
	if err == nil {
		err = json.Unmarshal(data, &s)
	}
	if err != nil {
		h.t.Fatalf("reading network %s's state: %v", net, err)
	}
	var ids []string
	for id := range s.Members {
		ids = append(ids, id)
	}
	return ids
}

// readFile is the file's content, trimmed, or the error.
func readFile(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	return strings.TrimSpace(string(data))
}
