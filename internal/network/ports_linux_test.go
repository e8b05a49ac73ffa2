package network

import (
	"errors"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestPublishedPorts(t *testing.T) {
	e := newEnv(t, "10.123.40.0/23")
	n, err := e.m.Create("web", CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hp, err := freePort(PortMapping{HostIP: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	nsW, nsC := e.netns("web-1"), e.netns("client-1")
	// The server listens before Attach, on every address of its namespace.
	serve(t, nsW, "0.0.0.0:80", "web")
	serve(t, nsW, "0.0.0.0:81", "web81")
	w, err := e.m.Attach(AttachRequest{ContainerID: "web-1", Netns: nsW, Network: "web",
		Ports: []PortMapping{{HostPort: hp, ContainerPort: 80}, {ContainerPort: 81}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Ports) != 2 || w.Ports[0].HostPort != hp || w.Ports[1].HostPort == 0 || w.Ports[1].Protocol != "tcp" {
		t.Fatalf("ports = %+v", w.Ports)
	}
	random := w.Ports[1].HostPort
	if _, err := e.m.Attach(AttachRequest{ContainerID: "client-1", Netns: nsC, Network: "web"}); err != nil {
		t.Fatal(err)
	}
	e.logRuleset()
	p := strconv.Itoa(int(hp))
	mustDial(t, "", "127.0.0.1:"+p, "web")                           // host, localhost (route_localnet + masquerade)
	mustDial(t, "", net.JoinHostPort(n.Gateway.String(), p), "web")  // host, bridge address
	mustDial(t, nsC, net.JoinHostPort(n.Gateway.String(), p), "web") // other container, hairpin
	mustDial(t, nsW, net.JoinHostPort(n.Gateway.String(), p), "web") // itself, hairpin
	mustDial(t, "", "127.0.0.1:"+strconv.Itoa(int(random)), "web81")

	if _, err := e.m.Attach(AttachRequest{ContainerID: "web-1", Netns: nsW, Network: "web2"}); err == nil {
		t.Fatal("Attach to a missing network succeeded")
	}
	// UDP: an echo server in another container, reached on localhost.
	u, err := e.m.Create("udp", CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nsU := e.netns("udp-1")
	var upc net.PacketConn
	if err := inNetns(nsU, func() (err error) { upc, err = net.ListenPacket("udp4", "0.0.0.0:53"); return err }); err != nil {
		t.Fatal(err)
	}
	defer upc.Close()
	go func() {
		buf := make([]byte, 100)
		n, from, err := upc.ReadFrom(buf)
		if err == nil {
			upc.WriteTo(append([]byte("echo "), buf[:n]...), from)
		}
	}()
	ua, err := e.m.Attach(AttachRequest{ContainerID: "udp-1", Netns: nsU, Network: u.Name,
		Ports: []PortMapping{{ContainerPort: 53, Protocol: "udp"}}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("udp4", "127.0.0.1:"+strconv.Itoa(int(ua.Ports[0].HostPort)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	c.Write([]byte("ping"))
	buf := make([]byte, 100)
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "echo ping" {
		t.Fatalf("udp via published port: %q, %v", buf[:n], err)
	}

	// A port nook published is taken for the next container...
	nsX := e.netns("web-2")
	_, err = e.m.Attach(AttachRequest{ContainerID: "web-2", Netns: nsX, Network: "web",
		Ports: []PortMapping{{HostIP: "127.0.0.1", HostPort: hp, ContainerPort: 80}}})
	want := "port " + p + "/tcp is already in use on 127.0.0.1"
	if err2 := e.m.CheckPorts([]PortMapping{{HostIP: "127.0.0.1", HostPort: hp, ContainerPort: 80}}); err2 == nil || err2.Error() != want {
		t.Fatalf("CheckPorts = %v, want %q", err2, want)
	}
	if !errors.Is(err, ErrPortInUse) || !strings.Contains(err.Error(), want) {
		t.Fatalf("Attach with a published port = %v, want %q", err, want)
	}
	// ...and so is a port a host process listens on. Either failure
	// leaves nothing behind.
	l, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	busy := uint16(l.Addr().(*net.TCPAddr).Port)
	_, err = e.m.Attach(AttachRequest{ContainerID: "web-2", Netns: nsX, Network: "web",
		Ports: []PortMapping{{HostPort: busy, ContainerPort: 80}}})
	want = "port " + strconv.Itoa(int(busy)) + "/tcp is already in use on 0.0.0.0"
	if !errors.Is(err, ErrPortInUse) || !strings.Contains(err.Error(), want) {
		t.Fatalf("Attach with a host-held port = %v, want %q", err, want)
	}
	if linkExists(e.m.vethName("web-2", "web")) {
		t.Fatal("failed Attach left its veth")
	}
	if atts, _ := e.m.Attachments("web-2"); len(atts) != 0 {
		t.Fatalf("failed Attach left a lease: %v", atts)
	}

	// Detach unpublishes.
	if err := e.m.Detach("web-1", "web"); err != nil {
		t.Fatal(err)
	}
	nt, _ := e.m.nft()
	if tags, _ := nt.tags(chainHostports); len(tags) != 1 || tags[0] != portTag("udp-1", "udp") {
		t.Fatalf("port rules after Detach of web-1: %q", tags)
	}
	if err := CheckPortFree(PortMapping{HostPort: hp, ContainerPort: 80}); err != nil {
		t.Fatal(err)
	}
}

// TestAttachRollback makes Attach fail at its last step (the DNS server
// does not start) and checks that it undid the rest.
func TestAttachRollback(t *testing.T) {
	e := newEnv(t, "10.123.44.0/24")
	if _, err := e.m.Create("rb", CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.m.DNSCommand = func(string) *exec.Cmd { return exec.Command("/bin/false") }
	ns := e.netns("rb-1")
	_, err := e.m.Attach(AttachRequest{ContainerID: "rb-1", Netns: ns, Network: "rb",
		Ports: []PortMapping{{ContainerPort: 80}}})
	if err == nil || !strings.Contains(err.Error(), "dns server of network rb exited") {
		t.Fatalf("Attach = %v, want a DNS server error", err)
	}
	if linkExists(e.m.vethName("rb-1", "rb")) {
		t.Fatal("veth survived the rollback")
	}
	nt, _ := e.m.nft()
	if tags, _ := nt.tags(chainHostports); len(tags) != 0 {
		t.Fatalf("port rules survived the rollback: %q", tags)
	}
	if atts, _ := e.m.Attachments("rb-1"); len(atts) != 0 {
		t.Fatalf("lease survived the rollback: %v", atts)
	}
	h, err := nsHandle(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if _, err := h.LinkByName("eth0"); err == nil {
		t.Fatal("eth0 survived the rollback")
	}
}
