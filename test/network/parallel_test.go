package network

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestParallelRun: 20 `nook run -d` at once on one network get 20
// different addresses and MACs, 20 veths on the bridge, and all answer the
// host; after 20 `rm -f` at once nothing of theirs is left: no veth on the
// bridge or anywhere, no lease (the network is empty and can be removed),
// no port rule, no namespace.
func TestParallelRun(t *testing.T) {
	const n = 20
	// The runs take turns on nook's locks: the last one waits for the
	// others, which takes a while in the emulated VM.
	const limit = 4 * patience
	h := newHost(t)
	net := h.network("many")
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("c%02d", i)
	}
	ids := make([]string, n)
	errs := make([]error, n)
	start := time.Now()
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			ids[i], errs[i] = h.runWithin(limit, name, append(append([]string{"--network", "many"}, probeMount()...), append([]string{image}, serverCmd...)...)...)
		})
	}
	wg.Wait()
	t.Logf("%d parallel run -d: %v", n, time.Since(start).Round(time.Millisecond))
	for i, err := range errs {
		if err != nil {
			t.Errorf("%s: %v", names[i], err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	subnet := netip.MustParsePrefix(net.subnet())
	ips, macs := map[string]string{}, map[string]string{}
	addrs := make([]string, n)
	for i, name := range names {
		ep, ok := h.inspect(name).NetworkSettings.Networks["many"]
		ip, err := netip.ParseAddr(ep.IPAddress)
		switch {
		case !ok || err != nil || !subnet.Contains(ip) || ep.IPAddress == net.gateway():
			t.Errorf("%s: address %q on many, want one in %s other than the gateway", name, ep.IPAddress, subnet)
		case ips[ep.IPAddress] != "":
			t.Errorf("%s and %s both have %s", name, ips[ep.IPAddress], ep.IPAddress)
		case macs[ep.MacAddress] != "":
			t.Errorf("%s and %s both have MAC %s", name, macs[ep.MacAddress], ep.MacAddress)
		}
		ips[ep.IPAddress], macs[ep.MacAddress] = name, name
		addrs[i] = ep.IPAddress
	}
	if t.Failed() {
		t.FailNow()
	}
	veths := h.ports(net.bridge())
	if len(veths) != n {
		t.Errorf("bridge %s has %d ports %v, want %d", net.bridge(), len(veths), veths, n)
	}
	parallel(n, 8, func(i int) {
		addr := addrs[i] + ":8000"
		deadline := time.Now().Add(patience)
		for {
			r := h.hostDial(addr, 2*time.Second)
			if r.Connected && r.peerIP() == net.gateway() {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("%s at %s: want an answer to the host (from %s), last %+v", names[i], addr, net.gateway(), r)
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	})

	start = time.Now()
	rmErrs := make([]string, n)
	for i, name := range names {
		wg.Go(func() {
			r, err := h.execWithin(limit, "rm", "-f", name)
			if err != nil {
				rmErrs[i] = err.Error()
			} else if r.Code != 0 || r.Out() != name {
				rmErrs[i] = r.String()
			}
		})
	}
	wg.Wait()
	t.Logf("%d parallel rm -f: %v", n, time.Since(start).Round(time.Millisecond))
	for i, e := range rmErrs {
		if e != "" {
			t.Errorf("rm -f %s: %s", names[i], e)
		}
	}
	if left := h.ports(net.bridge()); len(left) > 0 {
		t.Errorf("after rm -f, bridge %s still has ports %v", net.bridge(), left)
	}
	var gone []string
	for _, l := range h.links() {
		gone = append(gone, l.IfName)
	}
	for _, v := range veths {
		if slices.Contains(gone, v) {
			t.Errorf("after rm -f, veth %s still exists", v)
		}
	}
	rules := h.nftRules()
	for i, id := range ids {
		if id != "" && strings.Contains(rules, id) {
			t.Errorf("after rm -f, inet nook still names %s (%s)", names[i], id)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(h.netRoot, "netns")); len(ents) > 0 {
		t.Errorf("after rm -f, %d network namespaces are left in %s", len(ents), filepath.Join(h.netRoot, "netns"))
	}
	// No lease is left: a network with members cannot be removed.
	if r := h.nook("network", "rm", "many"); r.Code != 0 {
		t.Errorf("after rm -f of all its containers, the network cannot be removed (leases left?): %s", r)
	}
}
