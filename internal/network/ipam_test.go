package network

import (
	"net/netip"
	"strings"
	"testing"
)

func TestAllocate(t *testing.T) {
	a := netip.MustParseAddr
	p := netip.MustParsePrefix("10.123.0.0/29") // hosts .1-.6
	gw := a("10.123.0.1")
	tests := []struct {
		name    string
		used    []string
		last    string
		want    string
		wantErr bool
	}{
		{name: "first", want: "10.123.0.2"},
		{name: "after last", last: "10.123.0.3", want: "10.123.0.4"},
		{name: "skips used", used: []string{"10.123.0.2", "10.123.0.3"}, want: "10.123.0.4"},
		{name: "wraps", last: "10.123.0.6", want: "10.123.0.2"},
		{name: "wraps past used", last: "10.123.0.5", used: []string{"10.123.0.6", "10.123.0.2"}, want: "10.123.0.3"},
		{name: "last outside subnet", last: "10.9.9.9", want: "10.123.0.2"},
		{name: "full", used: []string{"10.123.0.2", "10.123.0.3", "10.123.0.4", "10.123.0.5", "10.123.0.6"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			used := map[netip.Addr]bool{}
			for _, u := range tt.used {
				used[a(u)] = true
			}
			var last netip.Addr
			if tt.last != "" {
				last = a(tt.last)
			}
			got, err := allocate(p, gw, used, last)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("allocate = %v, want error", got)
				}
				return
			}
			if err != nil || got != a(tt.want) {
				t.Fatalf("allocate = %v, %v; want %s", got, err, tt.want)
			}
		})
	}
}

func TestAllocateAll(t *testing.T) {
	p := netip.MustParsePrefix("10.123.0.0/24")
	gw := netip.MustParseAddr("10.123.0.1")
	used := map[netip.Addr]bool{}
	var last netip.Addr
	for range 253 {
		ip, err := allocate(p, gw, used, last)
		if err != nil {
			t.Fatal(err)
		}
		if used[ip] || ip == gw || !p.Contains(ip) {
			t.Fatalf("bad address %s", ip)
		}
		used[ip], last = true, ip
	}
	if _, err := allocate(p, gw, used, last); err == nil {
		t.Fatal("allocation from a full /24 succeeded")
	}
}

func TestCheckStatic(t *testing.T) {
	p := netip.MustParsePrefix("10.123.0.0/24")
	gw := netip.MustParseAddr("10.123.0.1")
	used := map[netip.Addr]bool{netip.MustParseAddr("10.123.0.7"): true}
	tests := []struct{ ip, wantErr string }{
		{"10.123.0.9", ""},
		{"10.123.0.1", "gateway"},
		{"10.123.0.7", "in use"},
		{"10.123.0.0", "not a host address"},
		{"10.123.0.255", "not a host address"},
		{"10.124.0.5", "not a host address"},
	}
	for _, tt := range tests {
		err := checkStatic(p, gw, used, netip.MustParseAddr(tt.ip))
		if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("checkStatic(%s) = %v, want %q", tt.ip, err, tt.wantErr)
		}
	}
}

func TestCheckSubnet(t *testing.T) {
	tests := []struct{ p, wantErr string }{
		{"10.78.0.0/24", ""},
		{"10.78.0.0/30", ""},
		{"10.78.0.1/24", "host bits"},
		{"10.78.0.0/31", "too small"},
		{"fd00::/64", "only IPv4"},
		{"0.0.0.0/0", "too large"},
	}
	for _, tt := range tests {
		err := checkSubnet(netip.MustParsePrefix(tt.p))
		if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("checkSubnet(%s) = %v, want %q", tt.p, err, tt.wantErr)
		}
	}
}

func TestPickSubnet(t *testing.T) {
	pp := netip.MustParsePrefix
	pool := pp("10.78.0.0/22")
	tests := []struct {
		name  string
		taken []netip.Prefix
		want  string
	}{
		{"empty", nil, "10.78.0.0/24"},
		{"skips taken", []netip.Prefix{pp("10.78.0.0/24"), pp("10.78.1.0/24")}, "10.78.2.0/24"},
		{"skips route inside", []netip.Prefix{pp("10.78.0.128/25")}, "10.78.1.0/24"},
		{"skips covering route", []netip.Prefix{pp("10.78.0.0/23")}, "10.78.2.0/24"},
		{"full", []netip.Prefix{pp("10.0.0.0/8")}, ""},
	}
	for _, tt := range tests {
		got, err := pickSubnet(pool, 24, tt.taken)
		if tt.want == "" {
			if err == nil {
				t.Errorf("%s: pickSubnet = %v, want error", tt.name, got)
			}
			continue
		}
		if err != nil || got != pp(tt.want) {
			t.Errorf("%s: pickSubnet = %v, %v; want %s", tt.name, got, err, tt.want)
		}
	}
}

func TestHostRange(t *testing.T) {
	f, l := hostRange(netip.MustParsePrefix("10.77.0.0/16"))
	if f.String() != "10.77.0.1" || l.String() != "10.77.255.254" {
		t.Fatalf("hostRange = %s, %s", f, l)
	}
}
