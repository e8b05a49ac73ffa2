package network

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestNetnsLifecycle(t *testing.T) {
	e := newEnv(t, "10.123.0.0/24")
	p := e.netns("ctr-a")
	if !isNetns(p) {
		t.Fatalf("%s is not a network namespace", p)
	}
	var self, other unix.Stat_t
	unix.Stat("/proc/self/ns/net", &self)
	unix.Stat(p, &other)
	if self.Ino == other.Ino {
		t.Fatal("NewNetns returned the host's namespace")
	}
	h, err := nsHandle(p)
	if err != nil {
		t.Fatal(err)
	}
	lo, err := h.LinkByName("lo")
	h.Close()
	if err != nil || lo.Attrs().Flags&1 == 0 {
		t.Fatalf("lo is not up: %v", err)
	}
	if _, err := e.m.NewNetns("ctr-a"); !errors.Is(err, ErrExists) {
		t.Fatalf("second NewNetns = %v, want ErrExists", err)
	}
	if _, err := e.m.NewNetns("../x"); err == nil {
		t.Fatal("NewNetns accepted a path as ID")
	}
	for range 2 {
		if err := e.m.RemoveNetns("ctr-a"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatalf("%s still exists: %v", p, err)
	}
}

func TestCreateNetwork(t *testing.T) {
	e := newEnv(t, "10.123.8.0/22")
	n1, err := e.m.Create("one", CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n1.Subnet.String() != "10.123.8.0/24" || n1.Gateway.String() != "10.123.8.1" || !linkExists(n1.Bridge) {
		t.Fatalf("network one = %+v", n1)
	}
	n2, err := e.m.Create("two", CreateOptions{})
	if err != nil || n2.Subnet.String() != "10.123.9.0/24" || n2.Bridge == n1.Bridge {
		t.Fatalf("network two = %+v, %v", n2, err)
	}
	tests := []struct {
		name    string
		o       CreateOptions
		wantErr string
	}{
		{"one", CreateOptions{}, "already exists"},
		{"bridge", CreateOptions{}, "reserved"},
		{"bad/name", CreateOptions{}, "invalid network name"},
		{"x", CreateOptions{Subnet: "10.123.8.128/25"}, "overlaps subnet 10.123.8.0/24 of network one"},
		{"x", CreateOptions{Subnet: "10.123.12.1/24"}, "host bits"},
		{"x", CreateOptions{Subnet: "nonsense"}, "invalid subnet"},
		{"x", CreateOptions{Subnet: "10.123.12.0/24", Gateway: "10.123.13.1"}, "not a host address"},
	}
	for _, tt := range tests {
		if _, err := e.m.Create(tt.name, tt.o); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("Create(%q, %+v) = %v, want %q", tt.name, tt.o, err, tt.wantErr)
		}
	}
	n3, err := e.m.Create("three", CreateOptions{Subnet: "10.123.12.0/24", Gateway: "10.123.12.254", Internal: true})
	if err != nil || n3.Gateway.String() != "10.123.12.254" || !n3.Internal {
		t.Fatalf("network three = %+v, %v", n3, err)
	}
	list, err := e.m.List()
	if err != nil || len(list) != 3 || list[0].Name != "one" || list[2].Name != "two" {
		t.Fatalf("List = %v, %v", list, err)
	}
	if _, err := e.m.Get("nope"); !errors.Is(err, ErrNotFound) || err.Error() != "no such network: nope: not found" {
		t.Fatalf("Get(nope) = %v", err)
	}
	if err := e.m.Remove("two"); err != nil {
		t.Fatal(err)
	}
	if linkExists(n2.Bridge) {
		t.Fatal("bridge of removed network still exists")
	}
	if _, err := e.m.Get("two"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Remove = %v", err)
	}
	def, err := e.m.EnsureDefault()
	if err != nil || def.Name != DefaultNetwork || def.Bridge != e.m.cfg.bridgePrefix+"0" || def.Subnet.String() != "10.123.250.0/24" {
		t.Fatalf("EnsureDefault = %+v, %v", def, err)
	}
	if again, err := e.m.EnsureDefault(); err != nil || again.ID != def.ID {
		t.Fatalf("second EnsureDefault = %+v, %v", again, err)
	}
	if data, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward"); strings.TrimSpace(string(data)) != "1" {
		t.Fatal("ip_forward not enabled")
	}
}

func TestAttachReachability(t *testing.T) {
	e := newEnv(t, "10.123.16.0/24")
	n, err := e.m.Create("net", CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nsA, nsB := e.netns("ctr-a"), e.netns("ctr-b")
	a, err := e.m.Attach(AttachRequest{ContainerID: "ctr-a", ContainerName: "a", Netns: nsA, Network: "net"})
	if err != nil {
		t.Fatal(err)
	}
	if a.IfName != "eth0" || a.Prefix != 24 || a.Gateway != n.Gateway || !n.Subnet.Contains(a.IP) || a.MAC == "" || a.DNSServer != n.Gateway {
		t.Fatalf("attachment = %+v", a)
	}
	b, err := e.m.Attach(AttachRequest{ContainerID: "ctr-b", Netns: nsB, Network: "net", IP: "10.123.16.200"})
	if err != nil {
		t.Fatal(err)
	}
	if b.IP.String() != "10.123.16.200" {
		t.Fatalf("--ip ignored: %v", b.IP)
	}
	if !defaultRoute(t, nsA) {
		t.Fatal("no default route in the container")
	}
	serve(t, nsA, addrPort(a.IP, 8080), "hello from a")
	mustDial(t, nsB, addrPort(a.IP, 8080), "hello from a")
	mustDial(t, "", addrPort(a.IP, 8080), "hello from a") // the host reaches containers directly

	if _, err := e.m.Attach(AttachRequest{ContainerID: "ctr-a", Netns: nsA, Network: "net"}); !errors.Is(err, ErrExists) {
		t.Fatalf("second Attach = %v, want ErrExists", err)
	}
	if _, err := e.m.Attach(AttachRequest{ContainerID: "ctr-c", Netns: nsA, Network: "net", IP: b.IP.String()}); !errors.Is(err, ErrInUse) {
		t.Fatalf("Attach with a taken --ip = %v, want ErrInUse", err)
	}
	if err := e.m.Remove("net"); !errors.Is(err, ErrInUse) {
		t.Fatalf("Remove of a used network = %v, want ErrInUse", err)
	}
	atts, err := e.m.Attachments("ctr-a")
	if err != nil || len(atts) != 1 || atts[0].IP != a.IP {
		t.Fatalf("Attachments = %v, %v", atts, err)
	}

	// A second network shows up as eth1 and keeps eth0's default route.
	if _, err := e.m.Create("net2", CreateOptions{Subnet: "10.123.17.0/24"}); err != nil {
		t.Fatal(err)
	}
	a2, err := e.m.Attach(AttachRequest{ContainerID: "ctr-a", Netns: nsA, Network: "net2"})
	if err != nil || a2.IfName != "eth1" {
		t.Fatalf("second network: %+v, %v", a2, err)
	}
	if atts, _ := e.m.Attachments("ctr-a"); len(atts) != 2 || atts[0].IfName != "eth0" {
		t.Fatalf("Attachments = %+v", atts)
	}

	veth := e.m.vethName("ctr-a", "net")
	for range 2 {
		if err := e.m.Detach("ctr-a", "net"); err != nil {
			t.Fatal(err)
		}
	}
	if linkExists(veth) {
		t.Fatal("veth survived Detach")
	}
	if _, err := dial(nsB, addrPort(a.IP, 8080), 300*time.Millisecond); err == nil {
		t.Fatal("detached container still reachable")
	}
	if err := e.m.DetachAll("ctr-a"); err != nil {
		t.Fatal(err)
	}
	if atts, _ := e.m.Attachments("ctr-a"); len(atts) != 0 {
		t.Fatalf("Attachments after DetachAll = %v", atts)
	}
	// The lease is free again (allocation moves on, so ask for it).
	if _, err := e.m.Attach(AttachRequest{ContainerID: "ctr-c", Netns: e.netns("ctr-c"), Network: "net", IP: a.IP.String()}); err != nil {
		t.Fatalf("reusing a released address: %v", err)
	}
}

func TestIsolation(t *testing.T) {
	e := newEnv(t, "10.123.24.0/23")
	for _, n := range []string{"red", "blue"} {
		if _, err := e.m.Create(n, CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	nsR, nsB, nsB2 := e.netns("red-1"), e.netns("blue-1"), e.netns("blue-2")
	r, err := e.m.Attach(AttachRequest{ContainerID: "red-1", Netns: nsR, Network: "red"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.m.Attach(AttachRequest{ContainerID: "blue-1", Netns: nsB, Network: "blue"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Attach(AttachRequest{ContainerID: "blue-2", Netns: nsB2, Network: "blue"}); err != nil {
		t.Fatal(err)
	}
	serve(t, nsB, addrPort(b.IP, 80), "blue")
	serve(t, nsR, addrPort(r.IP, 80), "red")
	mustDial(t, nsB2, addrPort(b.IP, 80), "blue") // same network: fine
	mustDial(t, "", addrPort(b.IP, 80), "blue")   // host: fine
	for _, c := range []struct{ from, to string }{{nsR, addrPort(b.IP, 80)}, {nsB, addrPort(r.IP, 80)}} {
		_, err := dial(c.from, c.to, 300*time.Millisecond)
		if err == nil {
			t.Fatalf("dial %s across networks succeeded", c.to)
		}
		if !strings.Contains(err.Error(), "timeout") {
			t.Fatalf("dial %s across networks: %v, want a timeout (dropped)", c.to, err)
		}
	}
	e.logRuleset()
	// Control: without the networks' rules the same dial goes through, so
	// it was the isolation rule that dropped it.
	for _, name := range []string{"red", "blue"} {
		s, err := e.m.load(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.m.removeNetworkRules(s); err != nil {
			t.Fatal(err)
		}
	}
	mustDial(t, nsR, addrPort(b.IP, 80), "blue")
}

func TestInternalNetwork(t *testing.T) {
	e := newEnv(t, "10.123.32.0/24")
	if _, err := e.m.Create("priv", CreateOptions{Internal: true}); err != nil {
		t.Fatal(err)
	}
	nsA, nsB := e.netns("int-a"), e.netns("int-b")
	a, err := e.m.Attach(AttachRequest{ContainerID: "int-a", Netns: nsA, Network: "priv"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Attach(AttachRequest{ContainerID: "int-b", Netns: nsB, Network: "priv"}); err != nil {
		t.Fatal(err)
	}
	if defaultRoute(t, nsA) {
		t.Fatal("container on an internal network has a default route")
	}
	serve(t, nsA, addrPort(a.IP, 80), "a")
	mustDial(t, nsB, addrPort(a.IP, 80), "a")

	n, err := e.m.nft()
	if err != nil {
		t.Fatal(err)
	}
	tags, err := n.tags(chainPostrouting)
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range tags {
		if tag == netTag("priv") {
			t.Fatal("internal network has a masquerade rule")
		}
	}
	fwd, _ := n.tags(chainForward)
	if !strings.Contains(strings.Join(fwd, "|"), netTag("priv")) {
		t.Fatalf("internal network has no forward rules: %q", fwd)
	}
	_, err = e.m.Attach(AttachRequest{ContainerID: "int-c", Netns: e.netns("int-c"), Network: "priv",
		Ports: []PortMapping{{HostPort: 0, ContainerPort: 80}}})
	if err == nil || !strings.Contains(err.Error(), "internal network") {
		t.Fatalf("publishing on an internal network: %v", err)
	}
}
