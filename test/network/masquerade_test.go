package network

import (
	"slices"
	"testing"
)

// TestMasquerade: containers reach a host outside (a namespace behind a
// veth, reached through the host's routing) with their connections
// masqueraded to the host's address on that veth, from a user network and
// from the default one; a container on an --internal network only cannot
// connect at all.
func TestMasquerade(t *testing.T) {
	h := newHost(t)
	h.network("public")
	h.network("sealed", "--internal")
	o := h.newOutside(7001)
	h.runD("pub", append(append([]string{"--network", "public"}, probeMount()...), image, "sleep", "1000")...)
	h.runD("dflt", append(probeMount(), image, "sleep", "1000")...)
	h.runD("sealed", append(append([]string{"--network", "sealed"}, probeMount()...), image, "sleep", "1000")...)

	h.checkReaches(t, o, "pub")
	h.checkReaches(t, o, "dflt")
	h.checkCannotReach(t, o, "sealed")

	// The outside saw only the host's address, never a container's.
	for _, p := range o.peers() {
		if p != o.hostIP {
			t.Errorf("the outside saw a connection from %s, want only the host's %s", p, o.hostIP)
		}
	}
	if !slices.Contains(o.peers(), o.hostIP) {
		t.Errorf("the outside saw no connection at all: %q", o.out.String())
	}
}
