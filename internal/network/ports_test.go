package network

import (
	"errors"
	"net"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestParsePublish(t *testing.T) {
	tcp := func(ip string, h, c uint16) PortMapping {
		return PortMapping{HostIP: ip, HostPort: h, ContainerPort: c, Protocol: "tcp"}
	}
	tests := []struct {
		spec    string
		want    []PortMapping
		wantErr string
	}{
		{spec: "80", want: []PortMapping{tcp("", 0, 80)}},
		{spec: "8080:80", want: []PortMapping{tcp("", 8080, 80)}},
		{spec: "127.0.0.1:8080:80", want: []PortMapping{tcp("127.0.0.1", 8080, 80)}},
		{spec: "127.0.0.1::80", want: []PortMapping{tcp("127.0.0.1", 0, 80)}},
		{spec: "0.0.0.0:8080:80", want: []PortMapping{tcp("", 8080, 80)}},
		{spec: "0:80", want: []PortMapping{tcp("", 0, 80)}},
		{spec: ":80", want: []PortMapping{tcp("", 0, 80)}},
		{spec: "53:53/udp", want: []PortMapping{{HostPort: 53, ContainerPort: 53, Protocol: "udp"}}},
		{spec: "53:53/UDP", want: []PortMapping{{HostPort: 53, ContainerPort: 53, Protocol: "udp"}}},
		{spec: "8000-8002:80-82", want: []PortMapping{tcp("", 8000, 80), tcp("", 8001, 81), tcp("", 8002, 82)}},
		{spec: "80-81", want: []PortMapping{tcp("", 0, 80), tcp("", 0, 81)}},
		{spec: "10.0.0.1:9000-9001:90-91/tcp", want: []PortMapping{tcp("10.0.0.1", 9000, 90), tcp("10.0.0.1", 9001, 91)}},
		{spec: "[::ffff:127.0.0.1]:80:80", want: []PortMapping{tcp("127.0.0.1", 80, 80)}},
		{spec: "65535:65535", want: []PortMapping{tcp("", 65535, 65535)}},
		{spec: "", wantErr: "invalid port"},
		{spec: "0", wantErr: "port 0 is not valid"},
		{spec: "8080:0", wantErr: "port 0 is not valid"},
		{spec: "65536:80", wantErr: "invalid port"},
		{spec: "80/sctp", wantErr: "unsupported protocol"},
		{spec: "x:80", wantErr: "invalid port"},
		{spec: "8000-8001:80", wantErr: "differ in size"},
		{spec: "8000:80-81", wantErr: "differ in size"},
		{spec: "90-80", wantErr: "invalid range"},
		{spec: "1.2.3:80:80", wantErr: "invalid host address"},
		{spec: "[::1]:80:80", wantErr: "IPv6"},
		{spec: "[::1]80:80", wantErr: "malformed"},
		{spec: "a:b:c:d", wantErr: "want [hostIP:]"},
		{spec: "::80", want: []PortMapping{tcp("", 0, 80)}},
		{spec: "[]:80:80", wantErr: "malformed"},
		{spec: "+80", wantErr: "invalid port"},
		{spec: "080", want: []PortMapping{tcp("", 0, 80)}},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := ParsePublish(tt.spec)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParsePublish(%q) = %v, %v; want error containing %q", tt.spec, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParsePublish(%q) = %v, %v; want %v", tt.spec, got, err, tt.want)
			}
		})
	}
}

func FuzzParsePublish(f *testing.F) {
	for _, s := range []string{"80", "8080:80", "127.0.0.1::80/udp", "1-3:4-6", "[::1]:1:2", "::", "0-0", "65535-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		ms, err := ParsePublish(spec)
		if err != nil {
			return
		}
		if len(ms) == 0 {
			t.Fatalf("ParsePublish(%q): no mappings and no error", spec)
		}
		for _, m := range ms {
			if m.ContainerPort == 0 || (m.Protocol != "tcp" && m.Protocol != "udp") {
				t.Fatalf("ParsePublish(%q): bad mapping %+v", spec, m)
			}
			if m.HostIP != "" && net.ParseIP(m.HostIP).To4() == nil {
				t.Fatalf("ParsePublish(%q): bad host IP %q", spec, m.HostIP)
			}
		}
		// Formatting a single mapping back must parse to the same mapping.
		m := ms[0]
		back := m.HostIP + ":" + strconv.Itoa(int(m.HostPort)) + ":" + strconv.Itoa(int(m.ContainerPort)) + "/" + m.Protocol
		again, err := ParsePublish(back)
		if err != nil || len(again) != 1 || again[0] != m {
			t.Fatalf("round trip of %q via %q = %v, %v", spec, back, again, err)
		}
	})
}

func TestPortMappingString(t *testing.T) {
	p := PortMapping{HostPort: 8080, ContainerPort: 80}
	if got := p.String(); got != "0.0.0.0:8080->80/tcp" {
		t.Fatalf("String() = %q", got)
	}
}

func TestCheckPortFree(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := uint16(l.Addr().(*net.TCPAddr).Port)
	for _, ip := range []string{"127.0.0.1", ""} {
		err = CheckPortFree(PortMapping{HostIP: ip, HostPort: port, ContainerPort: 80, Protocol: "tcp"})
		if !errors.Is(err, ErrPortInUse) {
			t.Fatalf("CheckPortFree(%q:%d) = %v, want ErrPortInUse", ip, port, err)
		}
	}
	want := "port " + strconv.Itoa(int(port)) + "/tcp is already in use on 127.0.0.1"
	err = CheckPortFree(PortMapping{HostIP: "127.0.0.1", HostPort: port, ContainerPort: 80})
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
	if err := CheckPortFree(PortMapping{HostIP: "127.0.0.1", HostPort: port, ContainerPort: 80, Protocol: "udp"}); err != nil {
		t.Fatalf("udp on a tcp-only port: %v", err)
	}
}

func TestResolvePorts(t *testing.T) {
	taken := []PortMapping{{HostPort: 40123, ContainerPort: 80, Protocol: "tcp"}}
	tests := []struct {
		name    string
		req     []PortMapping
		wantErr string
	}{
		{"taken by nook", []PortMapping{{HostIP: "127.0.0.1", HostPort: 40123, ContainerPort: 1}}, "port 40123/tcp is already in use on 127.0.0.1"},
		{"same port twice", []PortMapping{{HostPort: 40124, ContainerPort: 1}, {HostPort: 40124, ContainerPort: 2}}, "already in use"},
		{"other protocol", []PortMapping{{HostPort: 40123, ContainerPort: 1, Protocol: "udp"}}, ""},
		{"random", []PortMapping{{ContainerPort: 1}, {ContainerPort: 2, Protocol: "udp"}}, ""},
		{"bad protocol", []PortMapping{{ContainerPort: 1, Protocol: "sctp"}}, "unsupported protocol"},
		{"ipv6", []PortMapping{{HostIP: "::1", ContainerPort: 1}}, "not an IPv4 address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resolvePorts(tt.req, taken)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("resolvePorts = %v, %v; want error %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range got {
				if p.HostPort == 0 || p.Protocol == "" {
					t.Fatalf("unresolved mapping %+v", p)
				}
			}
		})
	}
}
