package network

import (
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
	if pid := c.State.MonitorPid; pid <= 0 || !cmdlineHas(pid, h.root, v.id) {
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
