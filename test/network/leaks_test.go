package network

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// checkLeaks reports what the test's nook left behind after its containers
// and networks were removed, and removes it so that the temp dir and the
// namespace can go: processes (monitors, DNS servers, containers), mounts,
// veths and bridges (but the default network's, which is never removed),
// port rules, network namespaces.
func (h *host) checkLeaks() {
	t := h.t
	for _, p := range h.pids {
		if p.alive() {
			t.Errorf("leak: %s (pid %d) still runs; killing it", p.what, p.pid)
			syscallKill(p.pid)
		}
	}
	for _, p := range rootProcs(h.root) {
		t.Errorf("leak: process %d still runs: %s; killing it", p.pid, p.what)
		syscallKill(p.pid)
	}
	if data, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			f := strings.Fields(l)
			switch {
			case len(f) <= 4 || !strings.HasPrefix(f[4], h.dir+"/"):
			case f[4] == filepath.Join(h.netRoot, "netns"):
				// The namespaces' directory is a shared bind mount of
				// itself, made once and kept, like /run/netns.
				lazyUnmount(f[4])
			default:
				t.Errorf("leak: mount %s; unmounting it", f[4])
				lazyUnmount(f[4])
			}
		}
	}
	for _, l := range h.links() {
		if l.IfName != "lo" && l.IfName != "nook0" {
			t.Errorf("leak: link %s (master %q) in the test's namespace", l.IfName, l.Master)
		}
	}
	if rules := h.nftRules(); strings.Contains(rules, "ctr=") {
		t.Errorf("leak: port rules in inet nook:\n%s", rules)
	}
	if ents, _ := os.ReadDir(filepath.Join(h.netRoot, "netns")); len(ents) > 0 {
		for _, e := range ents {
			t.Errorf("leak: network namespace %s", filepath.Join(h.netRoot, "netns", e.Name()))
		}
	}
}

// rootProcs lists the processes whose command line names root: nook's
// monitors and DNS servers of this test (`nook --root ROOT ...`).
func rootProcs(root string) []procID {
	ents, _ := os.ReadDir("/proc")
	var out []procID
	for _, e := range ents {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil || pid == os.Getpid() {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(data), "\x00"), "\x00")
		for i := 0; i+1 < len(args); i++ {
			if args[i] == "--root" && args[i+1] == root {
				if start, ok := startTime(pid); ok {
					out = append(out, procID{pid, start, strings.Join(args, " ")})
				}
				break
			}
		}
	}
	return out
}

// link is one interface of `ip -j link`.
type link struct {
	IfName string `json:"ifname"`
	Master string `json:"master"`
}

// links lists the interfaces of the test's namespace.
func (h *host) links() []link {
	h.t.Helper()
	out := mustRun(h.t, "ip", "-n", h.ns, "-j", "link", "show")
	var ls []link
	if err := json.Unmarshal([]byte(out), &ls); err != nil {
		h.t.Fatalf("ip -j link: %v\n%s", err, out)
	}
	return ls
}

// ports lists the interfaces enslaved to a bridge of the test's namespace.
func (h *host) ports(bridge string) []string {
	h.t.Helper()
	var out []string
	for _, l := range h.links() {
		if l.Master == bridge {
			out = append(out, l.IfName)
		}
	}
	return out
}

// nftRules is `nft list table inet nook` in the test's namespace, or ""
// when the table does not exist.
func (h *host) nftRules() string {
	out, err := h.inNS("nft", "list", "table", "inet", "nook").CombinedOutput()
	if err != nil {
		return ""
	}
	return string(out)
}
