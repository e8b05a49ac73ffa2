package dns

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// fakeUpstream answers every A query with 192.0.2.44 (an address nothing
// is ever sent to) and counts queries.
func fakeUpstream(t *testing.T) (addr string, queries chan string) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	queries = make(chan string, 10)
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		queries <- r.Question[0].Name
		m := new(dns.Msg)
		m.SetReply(r)
		m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(192, 0, 2, 44)})
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String(), queries
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startServer runs Serve on loopback and returns its address.
func startServer(t *testing.T, internal bool, upstream string) (addr, records string) {
	dir := t.TempDir()
	records = filepath.Join(dir, "records.json")
	a := netip.MustParseAddr
	if err := WriteRecords(records, Records{Records: []Record{
		{Name: "web", Aliases: []string{"www", "Front"}, IPs: []netip.Addr{a("10.78.0.2")}},
		{Name: "db", IPs: []netip.Addr{a("10.78.0.3")}},
		{Name: "web2", Aliases: []string{"www"}, IPs: []netip.Addr{a("10.78.0.4")}},
		// On another network: only a client that is on it too sees it.
		{Name: "other", IPs: []netip.Addr{a("10.78.9.2")}, Network: "elsewhere"},
	}}); err != nil {
		t.Fatal(err)
	}
	addr = freeAddr(t)
	cfg := Config{Network: "t", Listen: []string{addr}, Records: records, Internal: internal, Upstreams: []string{upstream}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if i > 200 {
			t.Fatal("server not listening")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return addr, records
}

func query(t *testing.T, addr, name string, qtype uint16, proto string) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	c := &dns.Client{Net: proto, Timeout: 2 * time.Second}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("query %s: %v", name, err)
	}
	return r
}

func answers(r *dns.Msg) []string {
	var out []string
	for _, rr := range r.Answer {
		switch v := rr.(type) {
		case *dns.A:
			out = append(out, v.A.String())
		case *dns.PTR:
			out = append(out, v.Ptr)
		}
	}
	return out
}

func TestServe(t *testing.T) {
	up, queries := fakeUpstream(t)
	addr, records := startServer(t, false, up)
	tests := []struct {
		name  string
		qtype uint16
		proto string
		rcode int
		want  []string
	}{
		{"web", dns.TypeA, "udp", dns.RcodeSuccess, []string{"10.78.0.2"}},
		{"WEB.", dns.TypeA, "tcp", dns.RcodeSuccess, []string{"10.78.0.2"}},
		{"front", dns.TypeA, "udp", dns.RcodeSuccess, []string{"10.78.0.2"}},
		{"www", dns.TypeA, "udp", dns.RcodeSuccess, []string{"10.78.0.2", "10.78.0.4"}},
		{"db", dns.TypeAAAA, "udp", dns.RcodeSuccess, nil},
		{"3.0.78.10.in-addr.arpa", dns.TypePTR, "udp", dns.RcodeSuccess, []string{"db."}},
		{"example.test", dns.TypeA, "udp", dns.RcodeSuccess, []string{"192.0.2.44"}},
		// The fake upstream is UDP-only and TCP queries are forwarded over TCP.
		{"example.test", dns.TypeA, "tcp", dns.RcodeServerFailure, nil},
	}
	for _, tt := range tests {
		r := query(t, addr, tt.name, tt.qtype, tt.proto)
		if r.Rcode != tt.rcode || len(answers(r)) != len(tt.want) {
			t.Errorf("%s/%s: rcode %s answers %v, want %v", tt.name, dns.TypeToString[tt.qtype], dns.RcodeToString[r.Rcode], answers(r), tt.want)
			continue
		}
		for i, w := range tt.want {
			if answers(r)[i] != w {
				t.Errorf("%s: answers %v, want %v", tt.name, answers(r), tt.want)
			}
		}
	}
	if q := <-queries; q != "example.test." {
		t.Errorf("upstream got %q", q)
	}

	// A rewritten records file is picked up at once.
	time.Sleep(10 * time.Millisecond)
	if err := WriteRecords(records, Records{Records: []Record{{Name: "new", IPs: []netip.Addr{netip.MustParseAddr("10.78.0.9")}}}}); err != nil {
		t.Fatal(err)
	}
	if got := answers(query(t, addr, "new", dns.TypeA, "udp")); len(got) != 1 || got[0] != "10.78.0.9" {
		t.Errorf("after reload: new = %v", got)
	}
	// web is gone, so it is forwarded now: the fake upstream answers.
	if got := answers(query(t, addr, "web", dns.TypeA, "udp")); len(got) != 1 || got[0] != "192.0.2.44" {
		t.Errorf("after reload: web = %v, want the upstream's answer", got)
	}
}

func TestServeInternal(t *testing.T) {
	up, queries := fakeUpstream(t)
	addr, _ := startServer(t, true, up)
	if got := answers(query(t, addr, "db", dns.TypeA, "udp")); len(got) != 1 {
		t.Errorf("db = %v", got)
	}
	r := query(t, addr, "example.test", dns.TypeA, "udp")
	if r.Rcode != dns.RcodeNameError {
		t.Errorf("external name on internal network: rcode %s", dns.RcodeToString[r.Rcode])
	}
	select {
	case q := <-queries:
		t.Errorf("internal network forwarded %q", q)
	default:
	}
}

func TestServeExitsWithoutRecords(t *testing.T) {
	dir := t.TempDir()
	records := filepath.Join(dir, "records.json")
	if err := WriteRecords(records, Records{}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- Serve(context.Background(), Config{Listen: []string{freeAddr(t)}, Records: records}) }()
	time.Sleep(100 * time.Millisecond)
	if err := os.Remove(records); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("server still running after its records were removed")
	}
}

func TestParseReverse(t *testing.T) {
	if a, ok := parseReverse("4.3.2.1.in-addr.arpa"); !ok || a.String() != "1.2.3.4" {
		t.Fatalf("parseReverse = %v %v", a, ok)
	}
	for _, s := range []string{"1.2.3.in-addr.arpa", "x.2.3.4.in-addr.arpa", "example.com"} {
		if _, ok := parseReverse(s); ok {
			t.Errorf("parseReverse(%q) ok", s)
		}
	}
}

// A client on several networks is answered from all of them; others only
// from the server's own network.
func TestTableLookupByClient(t *testing.T) {
	a := netip.MustParseAddr
	dir := t.TempDir()
	path := filepath.Join(dir, "records.json")
	if err := WriteRecords(path, Records{
		Records: []Record{
			{Name: "api", IPs: []netip.Addr{a("10.78.0.3")}, Network: "backend"},
			{Name: "db", IPs: []netip.Addr{a("10.78.1.3")}, Network: "database"},
			{Name: "proxy", IPs: []netip.Addr{a("10.78.0.2")}},
		},
		Clients: map[string][]string{"10.78.0.3": {"backend", "database"}, "10.78.0.2": {"backend"}},
	}); err != nil {
		t.Fatal(err)
	}
	tab, err := readRecords(path, "backend")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, client string
		want         int
	}{
		{"db", "10.78.0.3", 1},    // api is on database too
		{"db", "10.78.0.2", 0},    // proxy is not
		{"db", "10.99.0.1", 0},    // an unknown client: backend only
		{"api", "10.99.0.1", 1},   // which has api
		{"proxy", "10.78.0.3", 1}, // a record without a network is the server's
	} {
		if got := tab.lookup(tc.name, a(tc.client), "backend"); len(got) != tc.want {
			t.Errorf("lookup(%s) from %s = %v, want %d address(es)", tc.name, tc.client, got, tc.want)
		}
	}
}
