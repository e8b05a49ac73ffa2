package network

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// outside is "the outside world" of a test: a network namespace joined to
// the test's host by a veth pair with a /30 of its own, and a TCP listener
// in it (the probe's server, which tells every client the address it came
// from). It has no route back to the containers' subnets: an answer reaches
// a container only if nook masqueraded the connection to the host's address
// on the veth.
type outside struct {
	ns     string
	hostIP string // the host's end of the veth
	ip     string // the outside's end
	addr   string // the listener, ip:port
	out    *lineBuffer
}

// newOutside makes the outside namespace and starts its listener on port;
// all of it is removed at cleanup.
func (h *host) newOutside(port int) *outside {
	t := h.t
	t.Helper()
	b := make([]byte, 1)
	rand.Read(b)
	o := &outside{
		ns:     uniqueName("nnto"),
		hostIP: fmt.Sprintf("10.123.%d.1", b[0]),
		ip:     fmt.Sprintf("10.123.%d.2", b[0]),
	}
	o.addr = fmt.Sprintf("%s:%d", o.ip, port)
	suffix := strings.TrimPrefix(o.ns, "nnto-")
	hostEnd, outEnd := "nth"+suffix, "nto"+suffix
	var listener *exec.Cmd
	mustRun(t, "ip", "netns", "add", o.ns)
	t.Cleanup(func() {
		if listener != nil {
			listener.Process.Kill() // our own child
			listener.Wait()
		}
		// Deleting one end deletes the pair; the outside's end may already be gone.
		if out, err := exec.Command("ip", "-n", h.ns, "link", "del", hostEnd).CombinedOutput(); err != nil && !strings.Contains(string(out), "Cannot find") {
			t.Errorf("cleanup: ip link del %s: %v: %s", hostEnd, err, out)
		}
		if out, err := exec.Command("ip", "netns", "del", o.ns).CombinedOutput(); err != nil {
			t.Errorf("cleanup: ip netns del %s: %v: %s", o.ns, err, out)
		}
	})
	mustRun(t, "ip", "-n", h.ns, "link", "add", hostEnd, "type", "veth", "peer", "name", outEnd, "netns", o.ns)
	mustRun(t, "ip", "-n", h.ns, "addr", "add", o.hostIP+"/30", "dev", hostEnd)
	mustRun(t, "ip", "-n", h.ns, "link", "set", hostEnd, "up")
	mustRun(t, "ip", "-n", o.ns, "addr", "add", o.ip+"/30", "dev", outEnd)
	mustRun(t, "ip", "-n", o.ns, "link", "set", outEnd, "up")
	mustRun(t, "ip", "-n", o.ns, "link", "set", "lo", "up")

	listener = exec.Command("ip", "netns", "exec", o.ns, probeBin, "serve", o.addr)
	o.out = &lineBuffer{}
	listener.Stdout, listener.Stderr = o.out, o.out
	if err := listener.Start(); err != nil {
		listener = nil
		t.Fatal(err)
	}
	waitFor(t, "the outside's listener", func() (bool, string) {
		return strings.Contains(o.out.String(), `"listening"`), o.out.String()
	})
	return o
}

// peers returns the client addresses (without ports) the listener saw.
func (o *outside) peers() []string {
	var out []string
	for _, l := range strings.Split(o.out.String(), "\n") {
		var p struct{ Peer string }
		if json.Unmarshal([]byte(l), &p) == nil && p.Peer != "" {
			ip, _, _ := strings.Cut(p.Peer, ":")
			out = append(out, ip)
		}
	}
	return out
}

// checkReaches asserts that ctr connects to the outside and that the
// outside sees the connection come from the host's address (masquerade).
func (h *host) checkReaches(t *testing.T, o *outside, ctr string) {
	t.Helper()
	r, err := h.dialFrom(ctr, o.addr, 10)
	switch {
	case err != nil:
		t.Errorf("%s -> outside %s: %v", ctr, o.addr, err)
	case !r.Connected:
		t.Errorf("%s -> outside %s: want a connection, got %+v", ctr, o.addr, r)
	case r.peerIP() != o.hostIP:
		t.Errorf("%s -> outside %s: the outside saw the connection from %q, want the host's address %s (masquerade); %+v", ctr, o.addr, r.peer(), o.hostIP, r)
	}
}

// checkCannotReach asserts that ctr cannot connect to the outside.
func (h *host) checkCannotReach(t *testing.T, o *outside, ctr string) {
	t.Helper()
	before := len(o.peers())
	r, err := h.dialFrom(ctr, o.addr, 2)
	switch {
	case err != nil:
		t.Errorf("%s -> outside %s: %v", ctr, o.addr, err)
	case r.Connected:
		t.Errorf("%s -> outside %s: connected (outside saw %q), want no way out", ctr, o.addr, r.peer())
	}
	if after := o.peers(); len(after) != before {
		t.Errorf("%s -> outside: the listener saw a connection: %v", ctr, after[before:])
	}
}
