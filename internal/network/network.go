package network

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
)

// CreateOptions are `nook network create`'s flags. Empty Subnet picks a
// free /24; empty Gateway is the subnet's first address.
type CreateOptions struct {
	Subnet   string
	Gateway  string
	Internal bool
}

// Create makes a network: its state, its bridge and its nftables rules.
// The DNS server starts later, with the first container.
func (m *Manager) Create(name string, o CreateOptions) (*Network, error) {
	if err := checkName("network name", name); err != nil {
		return nil, err
	}
	if name == DefaultNetwork || name == "host" || name == "none" {
		return nil, fmt.Errorf("network name %s is reserved: %w", name, ErrExists)
	}
	var out *Network
	err := m.locked(func() error {
		n, err := m.create(name, o)
		out = n
		return err
	})
	return out, err
}

// EnsureDefault returns the default network, creating it on first use.
func (m *Manager) EnsureDefault() (*Network, error) {
	var out *Network
	err := m.locked(func() error {
		s, err := m.load(DefaultNetwork)
		if err == nil {
			n := s.Network
			out = &n
			return nil
		}
		if !errors.Is(err, ErrNotFound) {
			return err
		}
		out, err = m.create(DefaultNetwork, CreateOptions{Subnet: m.cfg.defaultSubnet.String()})
		return err
	})
	return out, err
}

// create does Create's work. Preconditions: m.locked.
func (m *Manager) create(name string, o CreateOptions) (*Network, error) {
	all, err := m.loadAll()
	if err != nil {
		return nil, err
	}
	var taken []netip.Prefix
	for _, s := range all {
		if s.Name == name {
			return nil, fmt.Errorf("network %s: %w", name, ErrExists)
		}
		taken = append(taken, s.Subnet)
	}
	bridge := m.chooseBridge(name, all)
	// A bridge of that name with no state is a leftover (state lost, or a
	// crash between making it and saving): its route would make the
	// subnet look taken. It is nook's (our prefix), so remove it.
	if err := m.deleteLink(bridge); err != nil {
		return nil, err
	}
	routes, err := hostRoutes()
	if err != nil {
		return nil, err
	}
	s := &netState{Members: map[string]*member{}}
	s.Name, s.Internal, s.Created = name, o.Internal, time.Now().UTC()
	if s.Subnet, err = m.chooseSubnet(o.Subnet, all, routes, taken); err != nil {
		return nil, err
	}
	s.Gateway = s.Subnet.Addr().Next()
	if o.Gateway != "" {
		gw, err := netip.ParseAddr(o.Gateway)
		if err != nil {
			return nil, fmt.Errorf("invalid gateway %q", o.Gateway)
		}
		if err := checkGateway(s.Subnet, gw); err != nil {
			return nil, err
		}
		s.Gateway = gw
	}
	s.Bridge = bridge
	id := make([]byte, 32)
	rand.Read(id)
	s.ID = hex.EncodeToString(id)

	m.log.Debug("creating network", "name", name, "subnet", s.Subnet, "gateway", s.Gateway, "bridge", s.Bridge, "internal", s.Internal)
	if err := m.setupHost(s); err != nil {
		m.teardownHost(s)
		return nil, err
	}
	if err := m.save(s); err != nil {
		m.teardownHost(s)
		return nil, err
	}
	n := s.Network
	return &n, nil
}

// chooseSubnet validates a requested subnet or picks a free /24.
func (m *Manager) chooseSubnet(req string, all []*netState, routes, taken []netip.Prefix) (netip.Prefix, error) {
	if req == "" {
		return pickSubnet(m.cfg.userPool, 24, append(append([]netip.Prefix{m.cfg.defaultSubnet}, taken...), routes...))
	}
	p, err := netip.ParsePrefix(req)
	if err != nil {
		return p, fmt.Errorf("invalid subnet %q: want CIDR notation like 10.78.5.0/24", req)
	}
	if err := checkSubnet(p); err != nil {
		return p, err
	}
	for _, s := range all {
		if p.Overlaps(s.Subnet) {
			return p, fmt.Errorf("subnet %s overlaps subnet %s of network %s", p, s.Subnet, s.Name)
		}
	}
	for _, r := range routes {
		if p.Overlaps(r) {
			return p, fmt.Errorf("subnet %s overlaps host route %s", p, r)
		}
	}
	return p, nil
}

// chooseBridge names the bridge: <prefix>0 for the default network, the
// first free <prefix>N (N >= 1) otherwise, skipping names the host uses.
func (m *Manager) chooseBridge(name string, all []*netState) string {
	if name == DefaultNetwork {
		return m.cfg.bridgePrefix + "0"
	}
	used := map[string]bool{}
	for _, s := range all {
		used[s.Bridge] = true
	}
	for i := 1; ; i++ {
		b := m.cfg.bridgePrefix + strconv.Itoa(i)
		if used[b] {
			continue
		}
		if _, err := netlink.LinkByName(b); err == nil {
			continue
		}
		return b
	}
}

// setupHost makes the kernel objects of a network; idempotent.
func (m *Manager) setupHost(s *netState) error {
	if err := setSysctl(m.log, "net/ipv4/ip_forward", "1"); err != nil {
		return err
	}
	if err := m.ensureBridge(s); err != nil {
		return err
	}
	return m.ensureNetworkRules(s)
}

// teardownHost removes the kernel objects of a network, best effort, and
// returns the first error.
func (m *Manager) teardownHost(s *netState) error {
	err := m.stopDNS(s.Name)
	if e := m.removeNetworkRules(s); err == nil {
		err = e
	}
	if e := m.deleteLink(s.Bridge); err == nil {
		err = e
	}
	return err
}

// Get returns a network by name.
func (m *Manager) Get(name string) (*Network, error) {
	var out *Network
	err := m.locked(func() error {
		s, err := m.load(name)
		if err != nil {
			return err
		}
		n := s.Network
		out = &n
		return nil
	})
	return out, err
}

// List returns every network, sorted by name.
func (m *Manager) List() ([]*Network, error) {
	var out []*Network
	err := m.locked(func() error {
		all, err := m.loadAll()
		for _, s := range all {
			n := s.Network
			out = append(out, &n)
		}
		return err
	})
	return out, err
}

// Remove deletes a network with no containers: its DNS server, rules,
// bridge and state. The default network cannot be removed (Reset does).
func (m *Manager) Remove(name string) error {
	if name == DefaultNetwork {
		return fmt.Errorf("network %s is predefined and cannot be removed", name)
	}
	return m.locked(func() error {
		s, err := m.load(name)
		if err != nil {
			return err
		}
		if len(s.Members) > 0 {
			var ids []string
			for id := range s.Members {
				ids = append(ids, id)
			}
			return fmt.Errorf("network %s is used by container(s) %s: %w", name, strings.Join(ids, ", "), ErrInUse)
		}
		if err := m.teardownHost(s); err != nil {
			return err
		}
		if err := os.RemoveAll(m.dnsDir(name)); err != nil {
			return fmt.Errorf("removing %s: %w", m.dnsDir(name), err)
		}
		if err := os.Remove(m.statePath(name)); err != nil {
			return fmt.Errorf("removing network %s: %w", name, err)
		}
		return nil
	})
}
