package network

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
)

// PortMapping publishes a container port on the host (`-p`). HostIP "" means
// every address of the host; HostPort 0 means "pick a free one" (Attach
// fills it in).
type PortMapping struct {
	HostIP        string `json:"hostIP,omitempty"`
	HostPort      uint16 `json:"hostPort"`
	ContainerPort uint16 `json:"containerPort"`
	Protocol      string `json:"protocol"` // tcp or udp
}

// String formats the mapping like `docker ps`: 0.0.0.0:8080->80/tcp.
func (p PortMapping) String() string {
	return fmt.Sprintf("%s:%d->%d/%s", p.hostIP(), p.HostPort, p.ContainerPort, p.proto())
}

func (p PortMapping) hostIP() string {
	if p.HostIP == "" {
		return "0.0.0.0"
	}
	return p.HostIP
}

func (p PortMapping) proto() string {
	if p.Protocol == "" {
		return "tcp"
	}
	return p.Protocol
}

// conflicts reports whether two mappings claim the same host port.
func (p PortMapping) conflicts(q PortMapping) bool {
	if p.HostPort == 0 || p.HostPort != q.HostPort || p.proto() != q.proto() {
		return false
	}
	return p.HostIP == "" || q.HostIP == "" || p.HostIP == q.HostIP
}

// ParsePublish parses Docker's -p syntax,
//
//	[hostIP:][hostPort[-end]:]containerPort[-end][/proto]
//
// with proto tcp (default) or udp. A range expands to one mapping per port;
// host and container ranges must have the same length. An empty or zero
// host port asks for a free one. IPv6 host addresses ("[::1]:80:80") are
// recognised and refused: nook's NAT is IPv4-only.
func ParsePublish(spec string) ([]PortMapping, error) {
	s := spec
	proto := "tcp"
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		proto = strings.ToLower(s[i+1:])
		s = s[:i]
		if proto != "tcp" && proto != "udp" {
			return nil, fmt.Errorf("publish %q: unsupported protocol %q (tcp or udp)", spec, proto)
		}
	}
	var hostIP string
	hasIP := false
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 2 || !strings.HasPrefix(s[end+1:], ":") {
			return nil, fmt.Errorf("publish %q: malformed [address]", spec)
		}
		hostIP, s, hasIP = s[1:end], s[end+2:], true
	}
	parts := strings.Split(s, ":")
	var hostPort, ctrPort string
	switch {
	case len(parts) == 1 && !hasIP:
		ctrPort = parts[0]
	case len(parts) == 2 && hasIP:
		hostPort, ctrPort = parts[0], parts[1]
	case len(parts) == 2:
		hostPort, ctrPort = parts[0], parts[1]
	case len(parts) == 3 && !hasIP:
		hostIP, hostPort, ctrPort = parts[0], parts[1], parts[2]
		hasIP = true
	default:
		return nil, fmt.Errorf("publish %q: want [hostIP:][hostPort:]containerPort[/proto]", spec)
	}
	if hasIP && hostIP != "" {
		ip, err := netip.ParseAddr(hostIP)
		if err != nil {
			return nil, fmt.Errorf("publish %q: invalid host address %q", spec, hostIP)
		}
		ip = ip.Unmap()
		if !ip.Is4() {
			return nil, fmt.Errorf("publish %q: IPv6 host addresses are not supported", spec)
		}
		hostIP = ip.String()
		if ip.IsUnspecified() {
			hostIP = ""
		}
	}
	cStart, cEnd, err := parsePortRange(ctrPort, false)
	if err != nil {
		return nil, fmt.Errorf("publish %q: container port: %w", spec, err)
	}
	hStart, hEnd := uint16(0), uint16(0)
	if hostPort != "" {
		if hStart, hEnd, err = parsePortRange(hostPort, true); err != nil {
			return nil, fmt.Errorf("publish %q: host port: %w", spec, err)
		}
	}
	if hStart != 0 && hEnd-hStart != cEnd-cStart {
		return nil, fmt.Errorf("publish %q: host and container port ranges differ in size", spec)
	}
	out := make([]PortMapping, 0, int(cEnd-cStart)+1)
	for i := 0; i <= int(cEnd-cStart); i++ {
		p := PortMapping{HostIP: hostIP, ContainerPort: cStart + uint16(i), Protocol: proto}
		if hStart != 0 {
			p.HostPort = hStart + uint16(i)
		}
		out = append(out, p)
	}
	return out, nil
}

// parsePortRange parses "80" or "80-90". zeroOK allows a lone "0".
func parsePortRange(s string, zeroOK bool) (start, end uint16, err error) {
	lo, hi, isRange := strings.Cut(s, "-")
	a, err := parsePort(lo)
	if err != nil {
		return 0, 0, err
	}
	if !isRange {
		if a == 0 && !zeroOK {
			return 0, 0, errors.New("port 0 is not valid")
		}
		return a, a, nil
	}
	b, err := parsePort(hi)
	if err != nil {
		return 0, 0, err
	}
	if a == 0 || b < a {
		return 0, 0, fmt.Errorf("invalid range %q", s)
	}
	return a, b, nil
}

func parsePort(s string) (uint16, error) {
	if s == "" || len(s) > 5 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("invalid port %q", s)
	}
	v, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("invalid port %q", s)
	}
	return uint16(v), nil
}

// portInUseError is the one line a user sees when a host port is taken.
type portInUseError struct{ p PortMapping }

func (e *portInUseError) Error() string {
	return fmt.Sprintf("port %d/%s is already in use on %s", e.p.HostPort, e.p.proto(), e.p.hostIP())
}

func (e *portInUseError) Unwrap() error { return ErrPortInUse }

// CheckPortFree reports whether a host process already holds p's host port,
// by binding it for a moment. (Ports published by other nook containers
// hold no socket; Attach checks those against its state.) A zero HostPort
// is always free.
func CheckPortFree(p PortMapping) error {
	if p.HostPort == 0 {
		return nil
	}
	addr := net.JoinHostPort(p.hostIP(), strconv.Itoa(int(p.HostPort)))
	var err error
	switch p.proto() {
	case "tcp":
		var l net.Listener
		if l, err = net.Listen("tcp4", addr); err == nil {
			l.Close()
		}
	case "udp":
		var c net.PacketConn
		if c, err = net.ListenPacket("udp4", addr); err == nil {
			c.Close()
		}
	default:
		return fmt.Errorf("port %d: unsupported protocol %q", p.HostPort, p.Protocol)
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.EADDRINUSE):
		return &portInUseError{p}
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return fmt.Errorf("publishing %s: %s is not an address of this host", p, p.hostIP())
	}
	return fmt.Errorf("checking port %d/%s on %s: %w", p.HostPort, p.proto(), p.hostIP(), err)
}

// freePort asks the kernel for an unused port on the host address.
func freePort(p PortMapping) (uint16, error) {
	addr := net.JoinHostPort(p.hostIP(), "0")
	if p.proto() == "udp" {
		c, err := net.ListenPacket("udp4", addr)
		if err != nil {
			return 0, fmt.Errorf("picking a free udp port on %s: %w", p.hostIP(), err)
		}
		defer c.Close()
		return uint16(c.LocalAddr().(*net.UDPAddr).Port), nil
	}
	l, err := net.Listen("tcp4", addr)
	if err != nil {
		return 0, fmt.Errorf("picking a free tcp port on %s: %w", p.hostIP(), err)
	}
	defer l.Close()
	return uint16(l.Addr().(*net.TCPAddr).Port), nil
}

// resolvePorts checks requested mappings against each other, against
// mappings already published by nook (taken) and against host sockets, and
// picks host ports for those that asked for any.
func resolvePorts(req []PortMapping, taken []PortMapping) ([]PortMapping, error) {
	out := make([]PortMapping, 0, len(req))
	clash := func(p PortMapping) bool {
		for _, q := range taken {
			if p.conflicts(q) {
				return true
			}
		}
		for _, q := range out {
			if p.conflicts(q) {
				return true
			}
		}
		return false
	}
	for _, p := range req {
		if p.Protocol == "" {
			p.Protocol = "tcp"
		}
		if p.Protocol != "tcp" && p.Protocol != "udp" {
			return nil, fmt.Errorf("publishing port %d: unsupported protocol %q", p.ContainerPort, p.Protocol)
		}
		if p.ContainerPort == 0 {
			return nil, errors.New("publishing a port: container port 0 is not valid")
		}
		if p.HostIP != "" {
			ip, err := netip.ParseAddr(p.HostIP)
			if err != nil || !ip.Unmap().Is4() {
				return nil, fmt.Errorf("publishing port %d: host address %q is not an IPv4 address", p.ContainerPort, p.HostIP)
			}
			p.HostIP = ip.Unmap().String()
			if ip.IsUnspecified() {
				p.HostIP = ""
			}
		}
		if p.HostPort == 0 {
			var err error
			for range 20 {
				if p.HostPort, err = freePort(p); err != nil {
					return nil, err
				}
				if !clash(p) {
					break
				}
				p.HostPort = 0
			}
			if p.HostPort == 0 {
				return nil, fmt.Errorf("publishing port %d: no free host port found", p.ContainerPort)
			}
		} else if clash(p) {
			return nil, &portInUseError{p}
		}
		if err := CheckPortFree(p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// CheckPorts checks mappings as Attach will: against each other, against
// ports other nook containers published, and against host sockets. The
// engine calls it before starting a container, for a clear early error.
func (m *Manager) CheckPorts(ports []PortMapping) error {
	return m.locked(func() error {
		all, err := m.loadAll()
		if err != nil {
			return err
		}
		var taken []PortMapping
		for _, s := range all {
			for _, mb := range s.Members {
				taken = append(taken, mb.Ports...)
			}
		}
		_, err = resolvePorts(ports, taken)
		return err
	})
}
