package network

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// ensureBridge creates the network's bridge if needed, gives it the
// gateway address and sets it up. It is idempotent, so Attach can call it to
// recreate bridges lost in a reboot.
func (m *Manager) ensureBridge(s *netState) error {
	l, err := netlink.LinkByName(s.Bridge)
	var nf netlink.LinkNotFoundError
	switch {
	case errors.As(err, &nf):
		m.log.Debug("link add", "type", "bridge", "name", s.Bridge)
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: s.Bridge, HardwareAddr: randomMAC()}}
		if err := netlink.LinkAdd(br); err != nil {
			return fmt.Errorf("creating bridge %s: %w", s.Bridge, err)
		}
		if l, err = netlink.LinkByName(s.Bridge); err != nil {
			return fmt.Errorf("finding bridge %s: %w", s.Bridge, err)
		}
	case err != nil:
		return fmt.Errorf("finding bridge %s: %w", s.Bridge, err)
	case l.Type() != "bridge":
		return fmt.Errorf("device %s exists and is not a bridge", s.Bridge)
	}
	addr := &netlink.Addr{IPNet: ipNet(s.Gateway, s.Subnet.Bits())}
	m.log.Debug("addr replace", "dev", s.Bridge, "addr", addr.IPNet.String())
	if err := netlink.AddrReplace(l, addr); err != nil {
		return fmt.Errorf("adding %s to bridge %s: %w", addr.IPNet, s.Bridge, err)
	}
	if !s.Internal {
		// Lets DNAT send 127.0.0.1-sourced packets out of the bridge, for
		// published ports on localhost (see nft_linux.go).
		if err := setSysctl(m.log, "net/ipv4/conf/"+s.Bridge+"/route_localnet", "1"); err != nil {
			return err
		}
	}
	m.log.Debug("link set up", "dev", s.Bridge)
	if err := netlink.LinkSetUp(l); err != nil {
		return fmt.Errorf("setting bridge %s up: %w", s.Bridge, err)
	}
	return nil
}

// deleteLink deletes a link by name; a missing link is not an error.
func (m *Manager) deleteLink(name string) error {
	l, err := netlink.LinkByName(name)
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("finding %s: %w", name, err)
	}
	m.log.Debug("link del", "name", name)
	if err := netlink.LinkDel(l); err != nil {
		return fmt.Errorf("deleting %s: %w", name, err)
	}
	return nil
}

// vethName is the host-side veth of a container on a network: stable, so
// that Detach and Recover find it from the state alone.
func (m *Manager) vethName(containerID, network string) string {
	sum := sha256.Sum256([]byte(containerID + "\x00" + network))
	n := 15 - len(m.cfg.vethPrefix)
	return m.cfg.vethPrefix + hex.EncodeToString(sum[:])[:min(n, 10)]
}

// addVeth creates the veth pair of a member: the host side enslaved to the
// bridge, the other side created directly in the container's namespace
// under the first free ethN name, with its address and (unless the network
// is internal) a default route through the gateway when the namespace has
// none yet. It fills mb.IfName.
func (m *Manager) addVeth(s *netState, mb *member) error {
	br, err := netlink.LinkByName(s.Bridge)
	if err != nil {
		return fmt.Errorf("finding bridge %s: %w", s.Bridge, err)
	}
	ns, err := netns.GetFromPath(mb.Netns)
	if err != nil {
		return fmt.Errorf("opening netns %s: %w", mb.Netns, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("opening netlink in netns %s: %w", mb.Netns, err)
	}
	defer h.Close()
	if mb.IfName, err = nextEthName(h); err != nil {
		return fmt.Errorf("listing links in %s: %w", mb.Netns, err)
	}
	mac, err := net.ParseMAC(mb.MAC)
	if err != nil {
		return fmt.Errorf("parsing MAC %s: %w", mb.MAC, err)
	}
	veth := &netlink.Veth{
		LinkAttrs:        netlink.LinkAttrs{Name: mb.HostVeth, MasterIndex: br.Attrs().Index, MTU: br.Attrs().MTU},
		PeerName:         mb.IfName,
		PeerNamespace:    netlink.NsFd(ns),
		PeerHardwareAddr: mac,
		PeerMTU:          uint32(br.Attrs().MTU),
	}
	m.log.Debug("link add", "type", "veth", "name", mb.HostVeth, "master", s.Bridge, "peer", mb.IfName, "peerNetns", mb.Netns)
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("creating veth %s: %w", mb.HostVeth, err)
	}
	if err := m.configurePeer(h, s, mb); err != nil {
		m.deleteLink(mb.HostVeth)
		return err
	}
	host, err := netlink.LinkByName(mb.HostVeth)
	if err == nil {
		// Hairpin mode lets the bridge send a frame back out of the port
		// it came in on. With br_netfilter loaded, a container reaching its
		// own published port is DNATed on the bridge and needs it.
		m.log.Debug("link set hairpin on", "dev", mb.HostVeth)
		err = netlink.LinkSetHairpin(host, true)
	}
	if err == nil {
		m.log.Debug("link set up", "dev", mb.HostVeth)
		err = netlink.LinkSetUp(host)
	}
	if err != nil {
		m.deleteLink(mb.HostVeth)
		return fmt.Errorf("setting %s up: %w", mb.HostVeth, err)
	}
	return nil
}

// configurePeer sets up the container side of a veth through a netlink
// handle inside the container's namespace.
func (m *Manager) configurePeer(h *netlink.Handle, s *netState, mb *member) error {
	l, err := h.LinkByName(mb.IfName)
	if err != nil {
		return fmt.Errorf("finding %s in %s: %w", mb.IfName, mb.Netns, err)
	}
	addr := &netlink.Addr{IPNet: ipNet(mb.IP, s.Subnet.Bits())}
	m.log.Debug("addr add", "netns", mb.Netns, "dev", mb.IfName, "addr", addr.IPNet.String())
	if err := h.AddrAdd(l, addr); err != nil {
		return fmt.Errorf("adding %s to %s: %w", addr.IPNet, mb.IfName, err)
	}
	m.log.Debug("link set up", "netns", mb.Netns, "dev", mb.IfName)
	if err := h.LinkSetUp(l); err != nil {
		return fmt.Errorf("setting %s up: %w", mb.IfName, err)
	}
	if s.Internal {
		return nil
	}
	routes, err := h.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("listing routes in %s: %w", mb.Netns, err)
	}
	for _, r := range routes {
		if r.Dst == nil || (r.Dst.IP.IsUnspecified() && isZeroMask(r.Dst.Mask)) {
			return nil // the first routed network keeps the default route
		}
	}
	gw := net.IP(s.Gateway.AsSlice())
	m.log.Debug("route add", "netns", mb.Netns, "dst", "default", "via", s.Gateway, "dev", mb.IfName)
	if err := h.RouteAdd(&netlink.Route{LinkIndex: l.Attrs().Index, Gw: gw}); err != nil {
		return fmt.Errorf("adding default route via %s: %w", s.Gateway, err)
	}
	return nil
}

func isZeroMask(m net.IPMask) bool {
	ones, _ := m.Size()
	return ones == 0
}

// nextEthName returns the first ethN not present in the namespace.
func nextEthName(h *netlink.Handle) (string, error) {
	links, err := h.LinkList()
	if err != nil {
		return "", err
	}
	used := map[string]bool{}
	for _, l := range links {
		if strings.HasPrefix(l.Attrs().Name, "eth") {
			used[l.Attrs().Name] = true
		}
	}
	for i := 0; ; i++ {
		if n := fmt.Sprintf("eth%d", i); !used[n] {
			return n, nil
		}
	}
}

func ipNet(a netip.Addr, bits int) *net.IPNet {
	return &net.IPNet{IP: net.IP(a.AsSlice()), Mask: net.CIDRMask(bits, 32)}
}

// randomMAC returns a random locally administered unicast address.
func randomMAC() net.HardwareAddr {
	mac := make(net.HardwareAddr, 6)
	rand.Read(mac)
	mac[0] = mac[0]&0xfe | 0x02
	return mac
}

// hostRoutes returns the IPv4 destinations routed by the host, but not the
// default route, for picking and checking subnets.
func hostRoutes() ([]netip.Prefix, error) {
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("listing host routes: %w", err)
	}
	var out []netip.Prefix
	for _, r := range routes {
		if r.Dst == nil {
			continue
		}
		ones, _ := r.Dst.Mask.Size()
		a, ok := netip.AddrFromSlice(r.Dst.IP.To4())
		if !ok || ones == 0 {
			continue
		}
		out = append(out, netip.PrefixFrom(a, ones).Masked())
	}
	return out, nil
}
