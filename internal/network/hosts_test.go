package network

import (
	"net/netip"
	"strings"
	"testing"
)

func TestHostsFile(t *testing.T) {
	a := netip.MustParseAddr
	tests := []struct {
		name string
		c    HostsConfig
		want []string // lines after the fixed localhost block
	}{
		{
			name: "one network",
			c: HostsConfig{Hostname: "abc123", Names: []string{"web", "abc123"},
				Attachments: []Attachment{{IP: a("10.78.0.2")}}},
			want: []string{"10.78.0.2\tabc123 web"},
		},
		{
			name: "two networks and extra",
			c: HostsConfig{Hostname: "h", Attachments: []Attachment{{IP: a("10.78.0.2")}, {IP: a("10.78.1.5")}},
				Extra: []HostEntry{{IP: a("192.0.2.9"), Names: []string{"db", "db.local"}}}},
			want: []string{"192.0.2.9\tdb db.local", "10.78.0.2\th", "10.78.1.5\th"},
		},
		{
			name: "no network",
			c:    HostsConfig{Hostname: "h"},
			want: []string{"127.0.1.1\th"},
		},
		{name: "nothing", c: HostsConfig{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines := strings.Split(strings.TrimSuffix(string(HostsFile(tt.c)), "\n"), "\n")
			if lines[0] != "127.0.0.1\tlocalhost" || !strings.HasPrefix(lines[1], "::1\tlocalhost") {
				t.Fatalf("missing localhost lines: %q", lines)
			}
			got := lines[6:]
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestResolvConf(t *testing.T) {
	a := netip.MustParseAddr
	host := []byte("# generated\nnameserver 127.0.0.53\nnameserver 192.0.2.53\nnameserver 2001:db8::1\nsearch example.com corp\noptions edns0 trust-ad\n")
	tests := []struct {
		name string
		host []byte
		atts []Attachment
		o    ResolvOptions
		want string
	}{
		{
			name: "default network: host servers without loopback and IPv6",
			host: host, atts: []Attachment{{IP: a("10.77.0.2")}},
			want: "nameserver 192.0.2.53\nsearch example.com corp\noptions edns0 trust-ad\n",
		},
		{
			name: "user network: its DNS server",
			host: host, atts: []Attachment{{IP: a("10.77.0.2")}, {IP: a("10.78.0.2"), DNSServer: a("10.78.0.1")}},
			want: "nameserver 10.78.0.1\nsearch example.com corp\noptions edns0 trust-ad\n",
		},
		{
			name: "user's servers win",
			host: host, atts: []Attachment{{DNSServer: a("10.78.0.1")}},
			o:    ResolvOptions{Servers: []string{"192.0.2.1"}, Search: []string{}, Options: []string{"ndots:2"}},
			want: "nameserver 192.0.2.1\noptions ndots:2\n",
		},
		{
			name: "only systemd-resolved: fallback",
			host: []byte("nameserver 127.0.0.53\n"),
			want: "nameserver 8.8.8.8\nnameserver 8.8.4.4\n",
		},
		{
			name: "domain line and comments",
			host: []byte("domain a.example # c\nnameserver 192.0.2.7 ; x\n"),
			want: "nameserver 192.0.2.7\nsearch a.example\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(ResolvConf(tt.host, tt.atts, tt.o)); got != tt.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestPortTag(t *testing.T) {
	id, net, ok := parsePortTag(portTag("abc", "my-net"))
	if !ok || id != "abc" || net != "my-net" {
		t.Fatalf("parsePortTag = %q %q %v", id, net, ok)
	}
	if _, _, ok := parsePortTag(netTag("x")); ok {
		t.Fatal("network tag parsed as port tag")
	}
}

func FuzzResolvConf(f *testing.F) {
	f.Add([]byte("nameserver 1.2.3.4\nsearch a b\noptions ndots:2\n"))
	f.Add([]byte("nameserver 127.0.0.53\n#x\n;y\ndomain\n"))
	f.Fuzz(func(t *testing.T, host []byte) {
		out := ResolvConf(host, nil, ResolvOptions{})
		r := parseResolvConf(out)
		if len(r.servers) == 0 {
			t.Fatalf("no nameserver in %q", out)
		}
		for _, s := range r.servers {
			ip, err := netip.ParseAddr(s)
			if err != nil || ip.IsLoopback() || !ip.Is4() {
				t.Fatalf("bad nameserver %q from %q", s, host)
			}
		}
	})
}
