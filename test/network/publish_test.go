package network

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestPublishedPort: a web server in a container on the default network,
// published with -p HOSTPORT:8000, answers on the host's 127.0.0.1:HOSTPORT,
// on the container's own address port 8000 and on the default bridge's
// address (10.77.0.1:HOSTPORT); `nook port` and inspect show the mapping;
// another container reaches it through the published port (hairpin) and
// directly; after rm -f the port is closed and its rule gone.
func TestPublishedPort(t *testing.T) {
	h := newHost(t)
	const hostPort = "18080"
	web := h.runD("web", append(probeMount(), "-p", hostPort+":8000", image,
		"sh", "-c", "mkdir -p /www && echo hello from nook > /www/index.html && exec httpd -f -p 8000 -h /www")...)
	h.checkNetRoot("bridge")
	c := h.inspect("web")
	ns := c.NetworkSettings
	ip, err := netip.ParseAddr(ns.IPAddress)
	if err != nil || !netip.MustParsePrefix("10.77.0.0/16").Contains(ip) {
		t.Fatalf("inspect .NetworkSettings.IPAddress = %q, want an address in 10.77.0.0/16", ns.IPAddress)
	}
	if ns.Gateway != "10.77.0.1" {
		t.Errorf(".NetworkSettings.Gateway = %q, want 10.77.0.1", ns.Gateway)
	}
	if ep, ok := ns.Networks["bridge"]; !ok || ep.IPAddress != ns.IPAddress || ep.Gateway != "10.77.0.1" || ep.MacAddress != ns.MacAddress || ep.MacAddress == "" {
		t.Errorf(".NetworkSettings.Networks = %+v, want bridge with %s, gateway 10.77.0.1 and MAC %q", ns.Networks, ns.IPAddress, ns.MacAddress)
	}
	if got := h.must("inspect", "--format", "{{.NetworkSettings.IPAddress}}", "web"); got != ns.IPAddress {
		t.Errorf("inspect --format {{.NetworkSettings.IPAddress}} = %q, want %q", got, ns.IPAddress)
	}
	if b := ns.Ports["8000/tcp"]; len(b) != 1 || b[0].HostIp != "0.0.0.0" || b[0].HostPort != hostPort {
		t.Errorf(".NetworkSettings.Ports = %+v, want 8000/tcp -> 0.0.0.0:%s", ns.Ports, hostPort)
	}
	if got := h.must("port", "web"); got != "8000/tcp -> 0.0.0.0:"+hostPort {
		t.Errorf("nook port web = %q, want %q", got, "8000/tcp -> 0.0.0.0:"+hostPort)
	}

	direct := "http://" + ns.IPAddress + ":8000/"
	waitFor(t, "httpd to answer on "+direct, func() (bool, string) {
		body, err := h.httpGet(direct, 2*time.Second)
		return err == nil, body + errString(err)
	})
	for _, url := range []string{direct, "http://127.0.0.1:" + hostPort + "/", "http://10.77.0.1:" + hostPort + "/"} {
		body, err := h.httpGet(url, 10*time.Second)
		if err != nil || body != "hello from nook\n" {
			t.Errorf("GET %s from the host: %q, %v; want hello from nook", url, body, err)
		}
	}
	// A port that is not published is not forwarded.
	if r := h.hostDial("127.0.0.1:18081", 2*time.Second); r.Connected {
		t.Errorf("127.0.0.1:18081 (not published) connected: %+v", r)
	}

	// From containers: another one on the default network reaches web
	// directly and through the published port on the gateway (hairpin NAT);
	// web reaches its own published port.
	h.runD("client", append(probeMount(), image, "sleep", "1000")...)
	for _, tc := range []struct{ from, addr string }{
		{"client", ns.IPAddress + ":8000"},
		{"client", "10.77.0.1:" + hostPort},
		{"web", "10.77.0.1:" + hostPort},
	} {
		r, err := h.dialFrom(tc.from, tc.addr, 10)
		if err != nil || !r.Connected {
			t.Errorf("%s -> %s: want a connection, got %+v, %v", tc.from, tc.addr, r, err)
		}
	}

	h.must("rm", "-f", "web")
	if r := h.hostDial("127.0.0.1:"+hostPort, 2*time.Second); r.Connected {
		t.Errorf("after rm -f web, 127.0.0.1:%s still connects: %+v", hostPort, r)
	}
	if rules := h.nftRules(); strings.Contains(rules, web) {
		t.Errorf("after rm -f web, inet nook still has its rules:\n%s", rules)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return " " + err.Error()
}

// NOOK_BRIDGE_SUBNET chooses the default network's subnet when nook first
// makes it.
func TestBridgeSubnet(t *testing.T) {
	t.Setenv("NOOK_BRIDGE_SUBNET", "10.99.7.0/24")
	h := newHost(t)
	h.runD("sub", image, "sleep", "1000")
	ns := h.inspect("sub").NetworkSettings
	ip, err := netip.ParseAddr(ns.IPAddress)
	if err != nil || !netip.MustParsePrefix("10.99.7.0/24").Contains(ip) || ns.Gateway != "10.99.7.1" {
		t.Errorf("with NOOK_BRIDGE_SUBNET=10.99.7.0/24: address %q gateway %q", ns.IPAddress, ns.Gateway)
	}
	h.must("rm", "-f", "sub")
}
