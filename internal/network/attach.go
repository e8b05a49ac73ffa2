package network

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
)

// AttachRequest asks for a container to join a network.
type AttachRequest struct {
	ContainerID   string
	ContainerName string   // resolvable by DNS on user-defined networks
	Netns         string   // path of the container's network namespace (NewNetns)
	Network       string   // network name
	Aliases       []string // more DNS names on this network
	IP            string   // a fixed address (--ip); empty: allocate one
	Ports         []PortMapping
	Hostname      string // not registered in DNS (as in Docker); the engine writes it to /etc/hosts with HostsFile
}

// Attachment is a container's interface on one network.
type Attachment struct {
	Network   string
	IP        netip.Addr
	Prefix    int
	Gateway   netip.Addr
	MAC       string
	IfName    string        // eth0, eth1, ... in the container
	Ports     []PortMapping // with host ports filled in
	DNSServer netip.Addr    // the network's DNS server; zero when it has none
}

// cleanup collects undo steps of a half-done operation and runs them in
// reverse unless released (gVisor's pkg/cleanup).
type cleanup struct{ fns []func() }

func (c *cleanup) add(f func()) { c.fns = append(c.fns, f) }
func (c *cleanup) release()     { c.fns = nil }
func (c *cleanup) run() {
	for i := len(c.fns) - 1; i >= 0; i-- {
		c.fns[i]()
	}
}

// Attach connects a container's namespace to a network: an address lease,
// a veth pair (host side on the bridge, ethN in the container with the
// address and, unless the network is internal, a default route through the
// gateway), the published ports' DNAT rules, and the network's DNS server.
// Either all of it is done or, on error, none.
func (m *Manager) Attach(req AttachRequest) (*Attachment, error) {
	if err := checkName("container ID", req.ContainerID); err != nil {
		return nil, err
	}
	if req.Netns == "" {
		return nil, errors.New("attaching container " + req.ContainerID + ": no network namespace")
	}
	var out *Attachment
	err := m.locked(func() error {
		a, err := m.attach(req)
		out = a
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("attaching container %s to network %s: %w", req.ContainerID, req.Network, err)
	}
	return out, nil
}

// attach does Attach's work. Preconditions: m.locked.
func (m *Manager) attach(req AttachRequest) (*Attachment, error) {
	s, err := m.load(req.Network)
	if err != nil {
		return nil, err
	}
	if _, ok := s.Members[req.ContainerID]; ok {
		return nil, fmt.Errorf("container is already attached: %w", ErrExists)
	}
	if s.Internal && len(req.Ports) > 0 {
		return nil, errors.New("cannot publish ports on an internal network")
	}
	all, err := m.loadAll()
	if err != nil {
		return nil, err
	}
	var taken []PortMapping
	for _, o := range all {
		for _, mb := range o.Members {
			taken = append(taken, mb.Ports...)
		}
	}
	ports, err := resolvePorts(req.Ports, taken)
	if err != nil {
		return nil, err
	}
	used := map[netip.Addr]bool{}
	for _, mb := range s.Members {
		used[mb.IP] = true
	}
	var ip netip.Addr
	if req.IP != "" {
		if ip, err = netip.ParseAddr(req.IP); err != nil {
			return nil, fmt.Errorf("invalid address %q", req.IP)
		}
		if err := checkStatic(s.Subnet, s.Gateway, used, ip); err != nil {
			return nil, err
		}
	} else if ip, err = allocate(s.Subnet, s.Gateway, used, s.LastIP); err != nil {
		return nil, err
	}
	mb := &member{
		ContainerID: req.ContainerID,
		Name:        req.ContainerName,
		Aliases:     req.Aliases,
		IP:          ip,
		MAC:         randomMAC().String(),
		HostVeth:    m.vethName(req.ContainerID, s.Name),
		Netns:       req.Netns,
		Ports:       ports,
	}
	m.log.Debug("ipam lease", "network", s.Name, "container", req.ContainerID, "ip", ip)

	var undo cleanup
	defer undo.run()
	if err := m.setupHost(s); err != nil {
		return nil, err
	}
	if err := m.addVeth(s, mb); err != nil {
		return nil, err
	}
	undo.add(func() { m.deleteLink(mb.HostVeth) })
	if err := m.addPortRules(s, mb); err != nil {
		return nil, err
	}
	undo.add(func() { m.removePortRules(mb.ContainerID, s.Name) })

	s.Members[mb.ContainerID] = mb
	s.LastIP = ip
	if err := m.syncDNS(s); err != nil {
		return nil, err
	}
	undo.add(func() {
		delete(s.Members, mb.ContainerID)
		m.syncDNS(s)
	})
	if err := m.save(s); err != nil {
		return nil, err
	}
	undo.release()
	if err := m.syncRelatedDNS(mb.ContainerID, s); err != nil {
		m.log.Warn("updating the dns records of the container's other networks", "err", err)
	}
	a := s.attachment(mb)
	return &a, nil
}

// Detach removes a container from a network: port rules, veth, lease, DNS
// name. Detaching what is not attached is not an error.
func (m *Manager) Detach(containerID, network string) error {
	err := m.locked(func() error {
		s, err := m.load(network)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return m.detach(s, containerID)
	})
	if err != nil {
		return fmt.Errorf("detaching container %s from network %s: %w", containerID, network, err)
	}
	return nil
}

// detach does Detach's work. Preconditions: m.locked.
func (m *Manager) detach(s *netState, containerID string) error {
	mb, ok := s.Members[containerID]
	if !ok {
		return nil
	}
	m.log.Debug("detaching", "network", s.Name, "container", containerID, "ip", mb.IP)
	if err := m.removePortRules(containerID, s.Name); err != nil {
		return err
	}
	if err := m.deleteLink(mb.HostVeth); err != nil {
		return err
	}
	delete(s.Members, containerID)
	if err := m.save(s); err != nil {
		return err
	}
	if err := m.syncDNS(s); err != nil {
		return err
	}
	return m.syncRelatedDNS(containerID, s)
}

// DetachAll detaches a container from every network it is on. It also
// removes what an Attach killed before saving its lease left: the
// container's port rules, and a DNS server started for it alone.
func (m *Manager) DetachAll(containerID string) error {
	return m.locked(func() error {
		all, err := m.loadAll()
		if err != nil {
			return err
		}
		var errs []error
		member := false
		for _, s := range all {
			if _, ok := s.Members[containerID]; ok {
				member = true
				if err := m.detach(s, containerID); err != nil {
					errs = append(errs, fmt.Errorf("detaching container %s from network %s: %w", containerID, s.Name, err))
				}
			}
		}
		if member {
			return errors.Join(errs...)
		}
		// No lease: maybe an Attach killed before saving it. One pass over
		// the rules, and DNS servers left with no members.
		errs = append(errs, m.removePortRules(containerID, ""))
		for _, s := range all {
			if len(s.Members) == 0 {
				errs = append(errs, m.syncDNS(s))
			}
		}
		return errors.Join(errs...)
	})
}

// Attachments returns a container's attachments, in the order of their
// interfaces (eth0 first).
func (m *Manager) Attachments(containerID string) ([]Attachment, error) {
	var out []Attachment
	err := m.locked(func() error {
		all, err := m.loadAll()
		for _, s := range all {
			if mb, ok := s.Members[containerID]; ok {
				out = append(out, s.attachment(mb))
			}
		}
		return err
	})
	sort.Slice(out, func(i, j int) bool {
		if len(out[i].IfName) != len(out[j].IfName) {
			return len(out[i].IfName) < len(out[j].IfName)
		}
		return out[i].IfName < out[j].IfName
	})
	return out, err
}
