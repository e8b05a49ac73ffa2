package network

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// Sentinel errors callers branch on.
var (
	ErrNotFound  = errors.New("not found")
	ErrExists    = errors.New("already exists")
	ErrInUse     = errors.New("in use")
	ErrPortInUse = errors.New("port is already in use")
)

// DefaultNetwork is the network containers join when none is named, like
// Docker's "bridge". It has no DNS server (as in Docker).
const DefaultNetwork = "bridge"

// Option changes a Manager's defaults. Production code uses none; tests use
// them to keep their bridges, tables and subnets apart from a real nook.
type Option func(*config)

type config struct {
	defaultSubnet netip.Prefix // subnet of DefaultNetwork
	userPool      netip.Prefix // /24s for user networks are taken from here
	bridgePrefix  string       // bridges are <prefix>0, <prefix>1, ...
	table         string       // name of the inet nftables table
	vethPrefix    string       // host-side veths are <prefix><hex>
	upstreams     []string     // DNS upstreams; nil: the host's resolv.conf
}

func defaultConfig() config {
	return config{
		defaultSubnet: netip.MustParsePrefix("10.77.0.0/16"),
		userPool:      netip.MustParsePrefix("10.78.0.0/15"),
		bridgePrefix:  "nook",
		table:         "nook",
		vethPrefix:    "nk",
	}
}

// WithDefaultSubnet sets the subnet of DefaultNetwork (default 10.77.0.0/16).
func WithDefaultSubnet(p netip.Prefix) Option { return func(c *config) { c.defaultSubnet = p } }

// WithSubnetPool sets the range user networks' /24s are picked from
// (default 10.78.0.0/15).
func WithSubnetPool(p netip.Prefix) Option { return func(c *config) { c.userPool = p } }

// WithBridgePrefix sets the bridge name prefix (default "nook"; the default
// network's bridge is <prefix>0). At most 8 characters.
func WithBridgePrefix(s string) Option { return func(c *config) { c.bridgePrefix = s } }

// WithTable sets the name of nook's "inet" nftables table (default "nook").
func WithTable(s string) Option { return func(c *config) { c.table = s } }

// WithVethPrefix sets the host-side veth name prefix (default "nk"). At most
// 5 characters.
func WithVethPrefix(s string) Option { return func(c *config) { c.vethPrefix = s } }

// WithUpstreams sets the resolvers the DNS servers forward to, as "ip:port"
// (default: the nameservers of the host's /etc/resolv.conf, port 53).
func WithUpstreams(s []string) Option { return func(c *config) { c.upstreams = s } }

// Manager owns nook's networks. Its methods may be called from several
// goroutines and from several processes sharing the same root: every
// operation takes an flock on <root>/lock.
type Manager struct {
	root string
	log  *slog.Logger
	cfg  config

	// DNSCommand, set by the engine, returns the command that runs the DNS
	// server of a network (nook re-executes itself as `nook dns-server`).
	// The Manager adds NOOK_DNS_CONFIG=<config path> (dns.ConfigEnv) to its
	// environment and starts it in its own session. When nil, user-defined
	// networks get no DNS server.
	DNSCommand func(network string) *exec.Cmd
}

// Open returns a Manager keeping its state under root, creating it if
// needed.
func Open(root string, log *slog.Logger, opts ...Option) (*Manager, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if len(cfg.bridgePrefix) == 0 || len(cfg.bridgePrefix) > 8 {
		return nil, fmt.Errorf("bridge prefix %q: must be 1 to 8 characters", cfg.bridgePrefix)
	}
	if len(cfg.vethPrefix) == 0 || len(cfg.vethPrefix) > 5 {
		return nil, fmt.Errorf("veth prefix %q: must be 1 to 5 characters", cfg.vethPrefix)
	}
	if err := checkSubnet(cfg.defaultSubnet); err != nil {
		return nil, fmt.Errorf("default subnet: %w", err)
	}
	if err := checkSubnet(cfg.userPool); err != nil || cfg.userPool.Bits() > 24 {
		return nil, fmt.Errorf("subnet pool %s: must be an IPv4 prefix of /24 or larger", cfg.userPool)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("resolving network root %s: %w", root, err)
	}
	for _, d := range []string{abs, filepath.Join(abs, "networks"), filepath.Join(abs, "dns")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("creating %s: %w", d, err)
		}
	}
	return &Manager{root: abs, log: log, cfg: cfg}, nil
}

// locked runs fn holding the exclusive flock on <root>/lock. The lock file
// is opened per call, so goroutines of one process exclude each other too
// (flock locks belong to the open file description).
func (m *Manager) locked(fn func() error) error {
	f, err := os.OpenFile(filepath.Join(m.root, "lock"), os.O_RDWR|os.O_CREATE|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("opening network lock: %w", err)
	}
	defer f.Close()
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("locking network state: %w", err)
	}
	return fn()
}
