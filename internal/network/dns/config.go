package dns

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
)

// ConfigEnv names the environment variable through which the network
// Manager passes the config path to the server process it starts.
const ConfigEnv = "NOOK_DNS_CONFIG"

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

// Record is one container: its name and aliases resolve to its addresses.
type Record struct {
	Name    string       `json:"name"`
	Aliases []string     `json:"aliases,omitempty"`
	IPs     []netip.Addr `json:"ips"`
}

type recordsFile struct {
	Records []Record `json:"records"`
}

// WriteRecords replaces the records file at path atomically; a running
// server picks the new file up at its next query.
func WriteRecords(path string, recs []Record) error {
	data, err := json.MarshalIndent(recordsFile{Records: recs}, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding dns records: %w", err)
	}
	return writeAtomic(path, data)
}

// readRecords parses a records file into a map from lower-case name to
// addresses.
func readRecords(path string) (map[string][]netip.Addr, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading dns records: %w", err)
	}
	var f recordsFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("parsing dns records %s: %w", path, err)
	}
	out := map[string][]netip.Addr{}
	for _, r := range f.Records {
		for _, n := range append([]string{r.Name}, r.Aliases...) {
			n = strings.ToLower(strings.TrimSuffix(n, "."))
			if n != "" {
				out[n] = append(out[n], r.IPs...)
			}
		}
	}
	return out, nil
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
