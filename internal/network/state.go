package network

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Network is a bridge network as the engine sees it.
type Network struct {
	Name     string       `json:"name"`
	ID       string       `json:"id"`
	Subnet   netip.Prefix `json:"subnet"`
	Gateway  netip.Addr   `json:"gateway"`
	Bridge   string       `json:"bridge"`
	Internal bool         `json:"internal,omitempty"`
	Created  time.Time    `json:"created"`
}

// HasDNS reports whether the network runs a DNS server: user-defined
// networks do, the default one does not (as in Docker).
func (n *Network) HasDNS() bool { return n.Name != DefaultNetwork }

// netState is networks/<name>.json: the network and its leases.
type netState struct {
	Network
	// LastIP is the address handed out last; allocation continues after
	// it so that a freed address is not reused at once (stale ARP caches).
	LastIP  netip.Addr         `json:"lastIP,omitzero"`
	Members map[string]*member `json:"members,omitempty"`
}

// member is one container's attachment: its lease and what Attach made.
type member struct {
	ContainerID string        `json:"containerID"`
	Name        string        `json:"name,omitempty"`
	Aliases     []string      `json:"aliases,omitempty"`
	IP          netip.Addr    `json:"ip"`
	MAC         string        `json:"mac"`
	IfName      string        `json:"ifName"`
	HostVeth    string        `json:"hostVeth"`
	Netns       string        `json:"netns"`
	Ports       []PortMapping `json:"ports,omitempty"`
}

func (s *netState) attachment(mb *member) Attachment {
	a := Attachment{
		Network: s.Name,
		IP:      mb.IP,
		Prefix:  s.Subnet.Bits(),
		Gateway: s.Gateway,
		MAC:     mb.MAC,
		IfName:  mb.IfName,
		Ports:   append([]PortMapping(nil), mb.Ports...),
	}
	if s.HasDNS() {
		a.DNSServer = s.Gateway
	}
	return a
}

var nameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$`) })

func checkName(what, name string) error {
	if !nameRE().MatchString(name) {
		return fmt.Errorf("invalid %s %q: must match %s", what, name, nameRE())
	}
	return nil
}

func (m *Manager) statePath(name string) string {
	return filepath.Join(m.root, "networks", name+".json")
}

// load reads one network's state. Preconditions: m.locked.
func (m *Manager) load(name string) (*netState, error) {
	if err := checkName("network name", name); err != nil {
		return nil, fmt.Errorf("no such network: %s: %w", name, ErrNotFound)
	}
	data, err := os.ReadFile(m.statePath(name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no such network: %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading network %s: %w", name, err)
	}
	var s netState
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", m.statePath(name), err)
	}
	if s.Members == nil {
		s.Members = map[string]*member{}
	}
	return &s, nil
}

// loadAll reads every network, sorted by name. Preconditions: m.locked.
func (m *Manager) loadAll() ([]*netState, error) {
	ents, err := os.ReadDir(filepath.Join(m.root, "networks"))
	if err != nil {
		return nil, fmt.Errorf("listing networks: %w", err)
	}
	var out []*netState
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.IsDir() {
			continue
		}
		s, err := m.load(name)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// save writes a network's state atomically (write, fsync, rename), so
// that a crash leaves the old or the new file and the DNS server never
// reads half a file. Preconditions: m.locked.
func (m *Manager) save(s *netState) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding network %s: %w", s.Name, err)
	}
	return writeFileAtomic(m.statePath(s.Name), data)
}

func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("syncing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("renaming into %s: %w", path, err)
	}
	return nil
}
