package network

import (
	"fmt"
	"net/netip"
	"os"
	"sync"
	"testing"
)

// TestConcurrentAttach runs 20 Attach calls at once, half through a shared
// Manager and half through Managers of their own (as separate nook
// processes would), and checks the leases are unique; then that Detach and
// Recover give them back.
func TestConcurrentAttach(t *testing.T) {
	e := newEnv(t, "10.123.48.0/24")
	if _, err := e.m.Create("busy", CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	const n = 20
	ids := make([]string, n)
	paths := make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("busy-%02d", i)
		paths[i] = e.netns(ids[i])
	}
	ips := make([]netip.Addr, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		m := e.m
		if i%2 == 1 {
			m = e.open()
		}
		wg.Go(func() {
			a, err := m.Attach(AttachRequest{ContainerID: ids[i], ContainerName: ids[i], Netns: paths[i], Network: "busy"})
			if err == nil {
				ips[i] = a.IP
			}
			errs[i] = err
		})
	}
	wg.Wait()
	seen := map[netip.Addr]string{}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Attach %s: %v", ids[i], errs[i])
		}
		if other, dup := seen[ips[i]]; dup {
			t.Fatalf("%s and %s both got %s", other, ids[i], ips[i])
		}
		seen[ips[i]] = ids[i]
		if !linkExists(e.m.vethName(ids[i], "busy")) {
			t.Fatalf("no veth for %s", ids[i])
		}
	}
	members := func() int {
		s, err := e.m.load("busy")
		if err != nil {
			t.Fatal(err)
		}
		return len(s.Members)
	}
	if got := members(); got != n {
		t.Fatalf("%d leases, want %d", got, n)
	}

	for i := range 5 {
		if err := e.m.Detach(ids[i], "busy"); err != nil {
			t.Fatal(err)
		}
	}
	if got := members(); got != n-5 {
		t.Fatalf("%d leases after 5 Detach, want %d", got, n-5)
	}

	// Containers 5..9 "died": Recover reclaims their leases, veths and
	// namespaces (and the namespaces of 0..4, detached but never removed).
	alive := func(id string) bool { return id >= ids[10] }
	if err := e.m.Recover(alive); err != nil {
		t.Fatal(err)
	}
	if got := members(); got != n-10 {
		t.Fatalf("%d leases after Recover, want %d", got, n-10)
	}
	for i := range n {
		veth := linkExists(e.m.vethName(ids[i], "busy"))
		_, statErr := os.Stat(paths[i])
		if i < 10 && (veth || statErr == nil) {
			t.Fatalf("%s: veth %v, netns %v after Recover", ids[i], veth, statErr)
		}
		if i >= 10 && (!veth || statErr != nil) {
			t.Fatalf("live %s lost veth (%v) or netns (%v)", ids[i], veth, statErr)
		}
	}
	// The reclaimed addresses can be leased again.
	for i := range 10 {
		if _, err := e.m.Attach(AttachRequest{ContainerID: ids[i], Netns: e.netns(ids[i]), Network: "busy", IP: ips[i].String()}); err != nil {
			t.Fatalf("re-leasing %s: %v", ips[i], err)
		}
	}
}
