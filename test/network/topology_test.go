package network

import (
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestTopology is the three-tier layout of Docker's networking articles:
//
//	frontend: proxy, web
//	backend:  proxy, api
//	database (--internal): api, db
//
// Containers reach each other exactly where they share a network, by
// address and by name; each network's DNS server answers with the
// addresses on that network and knows nothing of the others; and db, on
// the internal network only, cannot reach the outside while the others
// can.
func TestTopology(t *testing.T) {
	h := newHost(t)
	nets := map[string]netInfo{
		"frontend": h.network("frontend"),
		"backend":  h.network("backend"),
		"database": h.network("database", "--internal"),
	}
	if !nets["database"].Internal || nets["frontend"].Internal {
		t.Errorf("network inspect: Internal is %v for database and %v for frontend, want true and false",
			nets["database"].Internal, nets["frontend"].Internal)
	}
	on := map[string][]string{ // container -> its networks, in order
		"proxy": {"frontend", "backend"},
		"web":   {"frontend"},
		"api":   {"backend", "database"},
		"db":    {"database"},
	}
	names := []string{"proxy", "web", "api", "db"}
	for _, n := range names {
		var args []string
		for _, net := range on[n] {
			args = append(args, "--network", net)
		}
		if n == "web" {
			args = append(args, "--network-alias", "www")
		}
		h.runD(n, append(append(args, probeMount()...), append([]string{image}, serverCmd...)...)...)
	}

	// Addresses: one per network, in the network's subnet, all different.
	addr := map[string]map[string]string{} // container -> network -> address
	seen := map[string]string{}
	for _, n := range names {
		ns := h.inspect(n).NetworkSettings
		addr[n] = map[string]string{}
		var got []string
		for net, ep := range ns.Networks {
			got = append(got, net)
			addr[n][net] = ep.IPAddress
			ip, err := netip.ParseAddr(ep.IPAddress)
			if err != nil || !netip.MustParsePrefix(nets[net].subnet()).Contains(ip) {
				t.Errorf("%s on %s: address %q is not in the network's subnet %s", n, net, ep.IPAddress, nets[net].subnet())
			}
			if ep.Gateway != nets[net].gateway() {
				t.Errorf("%s on %s: gateway %q, want %s", n, net, ep.Gateway, nets[net].gateway())
			}
			if other, dup := seen[ep.IPAddress]; dup {
				t.Errorf("%s on %s has the address of %s", n, net, other)
			}
			seen[ep.IPAddress] = n + " on " + net
		}
		slices.Sort(got)
		want := slices.Sorted(slices.Values(on[n]))
		if !slices.Equal(got, want) {
			t.Fatalf("%s: .NetworkSettings.Networks has %v, want %v", n, got, want)
		}
		if ns.IPAddress != addr[n][on[n][0]] {
			t.Errorf("%s: .NetworkSettings.IPAddress = %q, want its address on %s, %s", n, ns.IPAddress, on[n][0], addr[n][on[n][0]])
		}
	}
	for _, n := range names {
		h.waitServing(n, addr[n][on[n][0]]+":8000")
	}
	shares := func(a, b string) []string {
		var out []string
		for _, net := range on[a] {
			if slices.Contains(on[b], net) {
				out = append(out, net)
			}
		}
		return out
	}

	// Each failure is reported from the goroutine's own check; t.Errorf is
	// safe from several goroutines.
	var mu sync.Mutex
	var checks []func()
	check := func(f func()) { mu.Lock(); checks = append(checks, f); mu.Unlock() }

	// By address: src reaches dst's address on a network iff src is on it,
	// and, there, without NAT.
	for _, src := range names {
		for _, dst := range names {
			if src == dst {
				continue
			}
			for _, net := range on[dst] {
				want := slices.Contains(on[src], net)
				to := addr[dst][net] + ":8000"
				check(func() {
					timeout := 2.0
					if want {
						timeout = 10
					}
					r, err := h.dialFrom(src, to, timeout)
					switch {
					case err != nil:
						t.Errorf("%s -> %s (%s on %s): %v", src, to, dst, net, err)
					case r.Connected != want:
						t.Errorf("%s -> %s (%s on %s): connected %v, want %v: %+v", src, to, dst, net, r.Connected, want, r)
					case want && r.peerIP() != addr[src][net]:
						t.Errorf("%s -> %s (%s on %s): %s saw the client as %q, want %s's own address %s", src, to, dst, net, dst, r.peer(), src, addr[src][net])
					}
				})
			}
		}
	}

	// By name, the way applications do it (the container's resolv.conf):
	// a name resolves, to an address on a shared network, and connects iff
	// the two share a network (as in Docker, whose DNS answers for all of a
	// container's networks); otherwise it does not resolve at all.
	for _, src := range names {
		for _, dst := range append(slices.Clone(names), "www") {
			target := dst
			if dst == "www" {
				target = "web"
			}
			if target == src {
				continue
			}
			shared := shares(src, target)
			var want []string
			for _, net := range shared {
				want = append(want, addr[target][net]+":8000")
			}
			check(func() {
				timeout := 2.0
				if len(shared) > 0 {
					timeout = 10
				}
				r, err := h.dialFrom(src, dst+".:8000", timeout)
				switch {
				case err != nil:
					t.Errorf("%s -> %s:8000: %v", src, dst, err)
				case len(shared) > 0 && (!r.Connected || !slices.Contains(want, r.Remote)):
					t.Errorf("%s -> %s:8000 by name: want a connection to %s's address on %v (%v), got %+v", src, dst, target, shared, want, r)
				case len(shared) == 0 && (r.Connected || !strings.Contains(r.Error, "lookup")):
					t.Errorf("%s -> %s:8000 by name: they share no network, want the name not to resolve, got %+v", src, dst, r)
				}
			})
		}
	}

	// Each network's own DNS server (on its gateway) answers for its
	// members with their address on that network; for others, with their
	// addresses on the other networks the asking container shares with
	// them (a container asks its first network's server for every name);
	// else not at all.
	lookupNames := strings.Join(append(slices.Clone(names), "www"), ".,") + "."
	for _, src := range names {
		for _, net := range on[src] {
			gw := nets[net].gateway()
			check(func() {
				var got map[string]lookupResult
				if err := h.probeIn(src, &got, "lookupall", lookupNames, gw); err != nil {
					t.Errorf("%s: lookups at %s (%s): %v", src, gw, net, err)
					return
				}
				for _, name := range append(slices.Clone(names), "www") {
					target := name
					if name == "www" {
						target = "web"
					}
					want, member := addr[target][net]
					var elsewhere []string
					for _, n := range shares(src, target) {
						if n != net {
							elsewhere = append(elsewhere, addr[target][n])
						}
					}
					slices.Sort(elsewhere)
					r := got[name+"."]
					gotAddrs := slices.Sorted(slices.Values(r.Addrs))
					switch {
					case member && !slices.Equal(r.Addrs, []string{want}):
						t.Errorf("%s: lookup %s at %s's server %s: %v (%s), want [%s]", src, name, net, gw, r.Addrs, r.Error, want)
					case !member && len(elsewhere) > 0 && !slices.Equal(gotAddrs, elsewhere):
						t.Errorf("%s: lookup %s at %s's server %s: %v (%s), want %v: its addresses on the other networks they share", src, name, net, gw, r.Addrs, r.Error, elsewhere)
					case !member && len(elsewhere) == 0 && len(r.Addrs) > 0:
						t.Errorf("%s: lookup %s at %s's server %s: %v, want nothing: %s shares no network with %s", src, name, net, gw, r.Addrs, target, src)
					case !member && len(elsewhere) == 0 && nets[net].Internal && !r.NotFound:
						t.Errorf("%s: lookup %s at internal %s's server %s: want NXDOMAIN, got %+v", src, name, net, gw, r)
					}
				}
			})
		}
	}
	parallel(len(checks), 8, func(i int) { checks[i]() })

	// The outside: every container with a non-internal network gets out,
	// masqueraded; db, on the internal network only, does not.
	o := h.newOutside(7000)
	for _, n := range []string{"web", "proxy", "api"} {
		h.checkReaches(t, o, n)
	}
	h.checkCannotReach(t, o, "db")
}
