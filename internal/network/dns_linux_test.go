package network

import (
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// fakeUpstream is a resolver on loopback answering every A query with
// 192.0.2.44 (nothing is ever sent to that address).
func fakeUpstream(t *testing.T) string {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &mdns.Server{PacketConn: pc, Handler: mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) {
		m := new(mdns.Msg)
		m.SetReply(r)
		m.Answer = append(m.Answer, &mdns.A{Hdr: mdns.RR_Header{Name: r.Question[0].Name, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: 60}, A: net.IPv4(192, 0, 2, 44)})
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String()
}

// lookupFrom asks server (ip:53) for name's A records from inside a
// namespace.
func lookupFrom(t *testing.T, nsPath, server, name string) (rcode int, ips []string) {
	t.Helper()
	err := inNetns(nsPath, func() error {
		q := new(mdns.Msg)
		q.SetQuestion(mdns.Fqdn(name), mdns.TypeA)
		c := &mdns.Client{Net: "udp", Timeout: 2 * time.Second}
		r, _, err := c.Exchange(q, net.JoinHostPort(server, "53"))
		if err != nil {
			return err
		}
		rcode = r.Rcode
		for _, rr := range r.Answer {
			if a, ok := rr.(*mdns.A); ok {
				ips = append(ips, a.A.String())
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("looking up %s from %s: %v", name, nsPath, err)
	}
	return rcode, ips
}

func TestDNS(t *testing.T) {
	e := newEnv(t, "10.123.56.0/23")
	e.opts = append(e.opts, WithUpstreams([]string{fakeUpstream(t)}))
	e.m = e.open()
	n, err := e.m.Create("app", CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	priv, err := e.m.Create("priv", CreateOptions{Internal: true})
	if err != nil {
		t.Fatal(err)
	}
	nsA, nsB := e.netns("dns-a"), e.netns("dns-b")
	a, err := e.m.Attach(AttachRequest{ContainerID: "dns-a", ContainerName: "alpha", Aliases: []string{"db", "Primary"}, Netns: nsA, Network: "app"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.m.Attach(AttachRequest{ContainerID: "dns-b", ContainerName: "beta", Netns: nsB, Network: "app"})
	if err != nil {
		t.Fatal(err)
	}
	if b.DNSServer != n.Gateway {
		t.Fatalf("DNSServer = %v, want %v", b.DNSServer, n.Gateway)
	}
	gw := n.Gateway.String()
	for _, name := range []string{"alpha", "db", "primary", "ALPHA."} {
		if rc, ips := lookupFrom(t, nsB, gw, name); rc != mdns.RcodeSuccess || len(ips) != 1 || ips[0] != a.IP.String() {
			t.Errorf("%s = %s %v, want %s", name, mdns.RcodeToString[rc], ips, a.IP)
		}
	}
	if rc, ips := lookupFrom(t, nsA, gw, "beta"); rc != mdns.RcodeSuccess || len(ips) != 1 || ips[0] != b.IP.String() {
		t.Errorf("beta = %s %v", mdns.RcodeToString[rc], ips)
	}
	if rc, ips := lookupFrom(t, nsA, gw, "example.test"); rc != mdns.RcodeSuccess || len(ips) != 1 || ips[0] != "192.0.2.44" {
		t.Errorf("forwarded example.test = %s %v", mdns.RcodeToString[rc], ips)
	}

	// Another network does not see app's names, and an internal one does
	// not forward.
	nsP := e.netns("dns-p")
	if _, err := e.m.Attach(AttachRequest{ContainerID: "dns-p", ContainerName: "gamma", Netns: nsP, Network: "priv"}); err != nil {
		t.Fatal(err)
	}
	pgw := priv.Gateway.String()
	if rc, ips := lookupFrom(t, nsP, pgw, "gamma"); rc != mdns.RcodeSuccess || len(ips) != 1 {
		t.Errorf("gamma on internal network = %s %v", mdns.RcodeToString[rc], ips)
	}
	for _, name := range []string{"alpha", "example.test"} {
		if rc, _ := lookupFrom(t, nsP, pgw, name); rc != mdns.RcodeNameError {
			t.Errorf("%s on internal network = %s, want NXDOMAIN", name, mdns.RcodeToString[rc])
		}
	}

	// Names follow members; the server stops with the last one.
	pid, ok := e.m.dnsPid("app")
	if !ok {
		t.Fatal("no dns server running for app")
	}
	if err := e.m.Detach("dns-b", "app"); err != nil {
		t.Fatal(err)
	}
	// beta is forwarded now, and the fake upstream answers everything.
	if _, ips := lookupFrom(t, nsA, gw, "beta"); len(ips) != 1 || ips[0] != "192.0.2.44" {
		t.Errorf("beta after Detach = %v, want the upstream's answer", ips)
	}
	if err := e.m.Detach("dns-a", "app"); err != nil {
		t.Fatal(err)
	}
	if e.m.dnsRunning("app") {
		t.Fatal("dns server still running without members")
	}
	if err := syscall.Kill(pid, 0); err == nil {
		if st, err := procStart(pid); err == nil {
			t.Fatalf("dns server pid %d still alive (start %d)", pid, st)
		}
	}
	// The default network has no DNS server.
	def, err := e.m.EnsureDefault()
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.m.Attach(AttachRequest{ContainerID: "dns-d", Netns: e.netns("dns-d"), Network: def.Name})
	if err != nil {
		t.Fatal(err)
	}
	if d.DNSServer.IsValid() || e.m.dnsRunning(def.Name) {
		t.Fatal("default network has a DNS server")
	}
}

func TestReset(t *testing.T) {
	e := newEnv(t, "10.123.60.0/23")
	for _, name := range []string{"r1", "r2"} {
		if _, err := e.m.Create(name, CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		id := "reset-" + name
		if _, err := e.m.Attach(AttachRequest{ContainerID: id, ContainerName: id, Netns: e.netns(id), Network: name,
			Ports: []PortMapping{{ContainerPort: 80}}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.m.EnsureDefault(); err != nil {
		t.Fatal(err)
	}
	pid, ok := e.m.dnsPid("r1")
	if !ok {
		t.Fatal("no dns server for r1")
	}
	if err := e.m.Reset(); err != nil {
		t.Fatal(err)
	}
	e.assertClean()
	if _, err := procStart(pid); err == nil {
		t.Fatalf("dns server %d survived Reset", pid)
	}
	if _, err := os.Stat(e.m.netnsDir()); !os.IsNotExist(err) {
		t.Fatalf("netns dir survived Reset: %v", err)
	}
	// The Manager still works after a Reset.
	if _, err := e.m.Create("after", CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}
