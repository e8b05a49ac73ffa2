package dns

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ConfigEnv names the environment variable through which the network
// Manager passes the config path to the server process it starts.
const ConfigEnv = "NOOK_DNS_CONFIG"

// StartFDEnv names the environment variable holding the descriptor of the
// pipe the server waits on before it serves (AwaitStart): the Manager writes
// a byte once it has recorded the server's pid, so that a server whose
// starter was killed before that (and which nothing could ever stop) exits.
const StartFDEnv = "NOOK_DNS_START_FD"

// AwaitStart waits for the go-ahead on the StartFDEnv pipe, if there is one.
func AwaitStart() error {
	v := os.Getenv(StartFDEnv)
	if v == "" {
		return nil
	}
	fd, err := strconv.Atoi(v)
	if err != nil {
		return fmt.Errorf("%s=%q: not a descriptor", StartFDEnv, v)
	}
	f := os.NewFile(uintptr(fd), "dns-start")
	defer f.Close()
	if _, err := f.Read(make([]byte, 1)); err != nil {
		return fmt.Errorf("the nook that started this dns server ended before recording it: %w", err)
	}
	return nil
}

// Config is one network's server.
type Config struct {
	Network   string   `json:"network"`
	Listen    []string `json:"listen"`    // "10.78.0.1:53"; UDP and TCP on each
	Records   string   `json:"records"`   // path of the records file
	Upstreams []string `json:"upstreams"` // "ip:port" resolvers for other names
	Internal  bool     `json:"internal"`  // no forwarding
}

// LoadConfig reads a Config written by WriteConfig.
func LoadConfig(path string) (Config, error) {
	var c Config
	if path == "" {
		return c, errors.New("loading dns config: no path (is " + ConfigEnv + " set?)")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("loading dns config: %w", err)
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("parsing dns config %s: %w", path, err)
	}
	return c, nil
}

// WriteConfig writes c to path atomically.
func WriteConfig(path string, c Config) error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding dns config: %w", err)
	}
	return writeAtomic(path, data)
}

// Record is one container on one network: its name and aliases resolve
// to its addresses there.
type Record struct {
	Name    string       `json:"name"`
	Aliases []string     `json:"aliases,omitempty"`
	IPs     []netip.Addr `json:"ips"`
	// Network is the network the addresses are on; "" is the server's.
	Network string `json:"network,omitempty"`
}

// Records is what a server answers from. A container on several networks
// asks the server of its first one (its resolv.conf) for names on all of
// them, as with Docker and aardvark-dns: Clients maps each member's
// address to the networks it is on, and a query is answered only from
// records on those networks (an unknown client: the server's own).
type Records struct {
	Records []Record            `json:"records"`
	Clients map[string][]string `json:"clients,omitempty"`
}

// WriteRecords replaces the records file at path atomically; a running
// server picks the new file up at its next query.
func WriteRecords(path string, recs Records) error {
	data, err := json.MarshalIndent(recs, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding dns records: %w", err)
	}
	return writeAtomic(path, data)
}

// scoped is an address on a network.
type scoped struct {
	ip      netip.Addr
	network string
}

// table is a parsed records file: lower-case name to addresses, and each
// client's networks.
type table struct {
	names   map[string][]scoped
	clients map[netip.Addr][]string
}

// readRecords parses a records file; records without a network are on
// own (the server's network).
func readRecords(path, own string) (table, error) {
	t := table{names: map[string][]scoped{}, clients: map[netip.Addr][]string{}}
	data, err := os.ReadFile(path)
	if err != nil {
		return t, fmt.Errorf("reading dns records: %w", err)
	}
	var f Records
	if err := json.Unmarshal(data, &f); err != nil {
		return t, fmt.Errorf("parsing dns records %s: %w", path, err)
	}
	for _, r := range f.Records {
		net := r.Network
		if net == "" {
			net = own
		}
		for _, n := range append([]string{r.Name}, r.Aliases...) {
			n = strings.ToLower(strings.TrimSuffix(n, "."))
			if n == "" {
				continue
			}
			for _, ip := range r.IPs {
				t.names[n] = append(t.names[n], scoped{ip, net})
			}
		}
	}
	for ip, nets := range f.Clients {
		if a, err := netip.ParseAddr(ip); err == nil {
			t.clients[a] = nets
		}
	}
	return t, nil
}

// lookup returns name's address on own (the server's network) when it
// is a member there; else its addresses on the other networks client is
// on; else nothing.
func (t table) lookup(name string, client netip.Addr, own string) []netip.Addr {
	var here, there []netip.Addr
	nets := t.clients[client.Unmap()]
	for _, s := range t.names[name] {
		if s.network == own {
			here = append(here, s.ip)
			continue
		}
		for _, n := range nets {
			if s.network == n {
				there = append(there, s.ip)
				break
			}
		}
	}
	if len(here) > 0 {
		return here
	}
	return there
}

func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
