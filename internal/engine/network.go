package engine

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nook-containers/nook/internal/network"
)

// DNSServerArg is the hidden command a network's DNS server runs as:
// `nook dns-server NETWORK` (internal/network starts and stops it).
const DNSServerArg = "dns-server"

// NetworkRoot is where the network state lives. It is one per host, not
// per --root: bridges, nftables rules and addresses are the kernel's, so
// every engine root on the host must share them (as Podman's rootful
// networks are shared). Under /run, it goes with the kernel objects at
// reboot.
var NetworkRoot = "/run/nook/network"

// Network returns the network manager, opened on first use.
func (e *Engine) Network() (*network.Manager, error) {
	if e.net != nil {
		return e.net, nil
	}
	root := NetworkRoot
	if v := os.Getenv("NOOK_NETWORK_ROOT"); v != "" {
		root = v
	}
	var opts []network.Option
	if v := os.Getenv("NOOK_BRIDGE_SUBNET"); v != "" {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return nil, fmt.Errorf("invalid NOOK_BRIDGE_SUBNET %q: want CIDR notation like 10.77.0.0/16", v)
		}
		opts = append(opts, network.WithDefaultSubnet(p))
	}
	m, err := network.Open(root, e.log, opts...)
	if err != nil {
		return nil, err
	}
	engineRoot := e.root
	m.DNSCommand = func(n string) *exec.Cmd {
		return exec.Command(e.exe, "--root", engineRoot, DNSServerArg, n)
	}
	e.net = m
	return m, nil
}

// usesNetns reports whether the container joins networks (bridge and
// user-defined ones), rather than none (a namespace with only lo) or the
// host's.
func usesNetns(h *HostConfig) bool {
	return h.NetworkMode != "none" && h.NetworkMode != "host" && !strings.HasPrefix(h.NetworkMode, "container:")
}

// sharedWith returns the ID of the container whose network namespace c
// joins (--network container:NAME), or "".
func sharedWith(h *HostConfig) string {
	id, _ := strings.CutPrefix(h.NetworkMode, "container:")
	if id == h.NetworkMode {
		return ""
	}
	return id
}

// networks are the networks the container joins at start.
func (c *Container) networks() []string {
	if !usesNetns(&c.Host) {
		return nil
	}
	return append([]string{c.Host.NetworkMode}, c.Host.ExtraNetworks...)
}

// checkNetworks validates --network, -p and --ip at create time.
func (e *Engine) checkNetworks(c *Container) error {
	h := &c.Host
	if id := sharedWith(h); id != "" {
		if len(h.PortBindings) > 0 || len(h.ExtraNetworks) > 0 || h.IP != "" {
			return fmt.Errorf("--network container:... shares that container's network: -p, --ip and more networks belong to it")
		}
		return nil
	}
	if !usesNetns(h) {
		if len(h.PortBindings) > 0 && h.NetworkMode == "host" {
			return fmt.Errorf("-p has no effect with --network host: the container uses the host's ports")
		}
		if len(h.PortBindings) > 0 {
			return fmt.Errorf("-p needs a network: --network none has no ports to publish")
		}
		return nil
	}
	m, err := e.Network()
	if err != nil {
		return err
	}
	for _, n := range c.networks() {
		if n == network.DefaultNetwork {
			continue
		}
		nw, err := m.Get(n)
		if err != nil {
			return err
		}
		if nw.Internal && len(h.PortBindings) > 0 && n == h.NetworkMode {
			return fmt.Errorf("network %s is internal: it cannot publish ports", n)
		}
	}
	return m.CheckPorts(h.PortBindings)
}

// setupNetwork gives the container its namespace and attachments before
// the runtime creates it, and writes /etc/hosts and /etc/resolv.conf for
// them. It returns the namespace path for the spec.
func (e *Engine) setupNetwork(c *Container) (string, error) {
	if c.Host.NetworkMode == "host" {
		return "", e.writeEtcFiles(c)
	}
	if id := sharedWith(&c.Host); id != "" {
		return e.joinNetwork(c, id)
	}
	m, err := e.Network()
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(m.NetnsPath(c.ID)); err == nil {
		e.teardownNetwork(c) // leftovers of a crashed monitor
	}
	ns, err := m.NewNetns(c.ID) // lo is up in it, also for --network none
	if err != nil {
		return "", err
	}
	if !usesNetns(&c.Host) {
		if err := e.writeEtcFiles(c); err != nil {
			e.teardownNetwork(c)
			return "", err
		}
		return ns, nil
	}
	var atts []network.Attachment
	for i, n := range c.networks() {
		if n == network.DefaultNetwork {
			if _, err := m.EnsureDefault(); err != nil {
				e.teardownNetwork(c)
				return "", err
			}
		}
		req := network.AttachRequest{ContainerID: c.ID, ContainerName: c.Name, Netns: ns, Network: n,
			Aliases: c.Host.Aliases, Hostname: c.Config.Hostname}
		if i == 0 {
			req.IP, req.Ports = c.Host.IP, c.Host.PortBindings
		}
		att, err := m.Attach(req)
		if err != nil {
			e.teardownNetwork(c)
			return "", err
		}
		atts = append(atts, *att)
	}
	dir := c.dir(e)
	names := []string{c.Name}
	hosts := network.HostsFile(network.HostsConfig{Hostname: c.Config.Hostname, Names: names, Attachments: atts})
	resolv := network.ResolvConf(network.HostResolvConf(), atts, network.ResolvOptions{})
	for name, data := range map[string][]byte{"hosts": hosts, "resolv.conf": resolv, "hostname": []byte(c.Config.Hostname + "\n")} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			e.teardownNetwork(c)
			return "", err
		}
	}
	return ns, nil
}

// teardownNetwork detaches the container from every network and removes
// its namespace. Idempotent.
func (e *Engine) teardownNetwork(c *Container) {
	if c.Host.NetworkMode == "host" || sharedWith(&c.Host) != "" {
		return // the host's, or another container's
	}
	m, err := e.Network()
	if err != nil {
		return
	}
	if err := m.DetachAll(c.ID); err != nil {
		e.log.Warn("detaching from networks", "err", err)
	}
	if err := m.RemoveNetns(c.ID); err != nil {
		e.log.Warn("removing the network namespace", "err", err)
	}
}

// networkSettings is inspect's .NetworkSettings from the live attachments.
func (e *Engine) networkSettings(c *Container, ns *NetworkSettings) {
	if !usesNetns(&c.Host) || !isUp(&c.State) {
		return
	}
	m, err := e.Network()
	if err != nil {
		return
	}
	atts, err := m.Attachments(c.ID)
	if err != nil {
		return
	}
	for i, a := range atts {
		ep := &EndpointSettings{Aliases: c.Host.Aliases, NetworkID: a.Network, IPAddress: a.IP.String(),
			IPPrefixLen: a.Prefix, Gateway: a.Gateway.String(), MacAddress: a.MAC}
		ns.Networks[a.Network] = ep
		if i == 0 {
			ns.IPAddress, ns.Gateway, ns.MacAddress = ep.IPAddress, ep.Gateway, ep.MacAddress
		}
		for _, p := range a.Ports {
			key := strconv.Itoa(int(p.ContainerPort)) + "/" + p.Protocol
			ns.Ports[key] = append(ns.Ports[key], PortBinding{HostIP: hostIPOr(p.HostIP), HostPort: strconv.Itoa(int(p.HostPort))})
		}
	}
	ns.SandboxKey = m.NetnsPath(c.ID)
}

func hostIPOr(ip string) string {
	if ip == "" {
		return "0.0.0.0"
	}
	return ip
}

// Ports lists the container's published ports as `nook port` prints them:
// "8000/tcp -> 0.0.0.0:8080".
func (e *Engine) Ports(c *Container) []string {
	ns := NetworkSettings{Ports: map[string][]PortBinding{}, Networks: map[string]*EndpointSettings{}}
	e.networkSettings(c, &ns)
	var out []string
	for k, bs := range ns.Ports {
		for _, b := range bs {
			out = append(out, k+" -> "+b.HostIP+":"+b.HostPort)
		}
	}
	return out
}

// Connect attaches a running container to one more network.
func (e *Engine) Connect(c *Container, net string, aliases []string, ip string) error {
	if !usesNetns(&c.Host) {
		return fmt.Errorf("container %s uses --network %s: it cannot join other networks", c.Name, c.Host.NetworkMode)
	}
	if !isUp(&c.State) {
		return fmt.Errorf("container %s: %w", c.Name, ErrNotRunning)
	}
	m, err := e.Network()
	if err != nil {
		return err
	}
	_, err = m.Attach(network.AttachRequest{ContainerID: c.ID, ContainerName: c.Name, Netns: m.NetnsPath(c.ID),
		Network: net, Aliases: append(aliases, c.Host.Aliases...), IP: ip, Hostname: c.Config.Hostname})
	return err
}

// Disconnect detaches a running container from a network.
func (e *Engine) Disconnect(c *Container, net string) error {
	m, err := e.Network()
	if err != nil {
		return err
	}
	return m.Detach(c.ID, net)
}

// RecoverNetworks removes what networking left for containers that no
// longer run (a monitor killed with SIGKILL, a crash).
func (e *Engine) RecoverNetworks() error {
	m, err := e.Network()
	if err != nil {
		return err
	}
	return m.Recover(func(id string) bool {
		if _, err := os.Stat(e.containerDir(id)); err != nil {
			return true // another root's container (networks are per host)
		}
		c, err := e.load(id)
		return err == nil && isUp(&c.State)
	})
}

// joinNetwork is --network container:ID: the other container's namespace
// (it must be running), its /etc/hosts and /etc/resolv.conf.
func (e *Engine) joinNetwork(c *Container, id string) (string, error) {
	other, err := e.load(id)
	if err != nil {
		return "", fmt.Errorf("--network container: %w", err)
	}
	if !isUp(&other.State) || other.State.Pid == 0 {
		return "", fmt.Errorf("--network container:%s: %w", other.Name, ErrNotRunning)
	}
	if other.Host.NetworkMode == "host" {
		return "", fmt.Errorf("--network container:%s: it uses the host's network; use --network host", other.Name)
	}
	ns := filepath.Join("/proc", itoa(other.State.Pid), "ns", "net")
	if m, err := e.Network(); err == nil && sharedWith(&other.Host) == "" {
		if _, err := os.Stat(m.NetnsPath(other.ID)); err == nil {
			ns = m.NetnsPath(other.ID)
		}
	}
	for _, f := range []string{"hosts", "resolv.conf"} {
		data, err := os.ReadFile(filepath.Join(other.dir(e), f))
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(c.dir(e), f), data, 0o644); err != nil {
			return "", err
		}
	}
	return ns, os.WriteFile(filepath.Join(c.dir(e), "hostname"), []byte(c.Config.Hostname+"\n"), 0o644)
}

// resolveNetworkMode turns --network container:NAME into container:ID.
func (e *Engine) resolveNetworkMode(h *HostConfig) error {
	ref, ok := strings.CutPrefix(h.NetworkMode, "container:")
	if !ok {
		return nil
	}
	other, err := e.Get(ref)
	if err != nil {
		return fmt.Errorf("--network %s: %w", h.NetworkMode, err)
	}
	h.NetworkMode = "container:" + other.ID
	return nil
}

// ParseNetworkMode checks --network's first value.
func ParseNetworkMode(s string) (string, error) {
	if s == "" || s == "container:" {
		return "", fmt.Errorf("invalid --network %q", s)
	}
	return s, nil
}
