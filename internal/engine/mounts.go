package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// volumeName is what Docker accepts as a named volume.
var volumeName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// parseMounts turns -v, --mount and --tmpfs into the record's mounts,
// checking everything at create time.
func parseMounts(volumes, mounts, tmpfs []string) ([]Mount, error) {
	var out []Mount
	for _, v := range volumes {
		m, err := parseVolume(v)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	for _, s := range mounts {
		m, err := parseMountFlag(s)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	for _, t := range tmpfs {
		dst, opts, _ := strings.Cut(t, ":")
		if !filepath.IsAbs(dst) {
			return nil, fmt.Errorf("invalid --tmpfs %q: the destination must be an absolute path", t)
		}
		m := Mount{Type: "tmpfs", Destination: filepath.Clean(dst), RW: true, Mode: opts}
		if opts != "" {
			m.Options = strings.Split(opts, ",")
		}
		out = append(out, m)
	}
	seen := map[string]bool{}
	for _, m := range out {
		if seen[m.Destination] {
			return nil, fmt.Errorf("duplicate mount point: %s", m.Destination)
		}
		seen[m.Destination] = true
	}
	return out, nil
}

// parseVolume reads -v SRC:DST[:OPTS] (SRC an absolute host path for a
// bind mount, or a volume name) or -v DST (an anonymous volume).
func parseVolume(v string) (Mount, error) {
	parts := strings.Split(v, ":")
	bad := func(why string) (Mount, error) { return Mount{}, fmt.Errorf("invalid volume %q: %s", v, why) }
	if len(parts) == 1 {
		parts = []string{"", parts[0]}
	}
	if len(parts) > 3 {
		return bad("want SRC:DST[:OPTIONS]")
	}
	src, dst := parts[0], parts[1]
	if !filepath.IsAbs(dst) {
		return bad("the destination must be an absolute path")
	}
	m := Mount{Destination: filepath.Clean(dst), RW: true, Mode: ""}
	if len(parts) == 3 {
		m.Mode = parts[2]
		for _, o := range strings.Split(parts[2], ",") {
			switch o {
			case "ro":
				m.RW = false
			case "rw", "z", "Z", "private", "rprivate", "shared", "rshared", "slave", "rslave", "nocopy":
			default:
				return bad(fmt.Sprintf("unknown option %q", o))
			}
		}
	}
	switch {
	case src == "":
		m.Type = "volume" // anonymous: named at create
	case filepath.IsAbs(src):
		m.Type, m.Source = "bind", filepath.Clean(src)
	case volumeName.MatchString(src):
		m.Type, m.Name = "volume", src
	default:
		return bad("the source must be an absolute path or a volume name")
	}
	return m, nil
}

// parseMountFlag reads --mount type=bind|volume|tmpfs,source=,target=,readonly.
func parseMountFlag(s string) (Mount, error) {
	m := Mount{Type: "volume", RW: true}
	bad := func(why string) (Mount, error) { return Mount{}, fmt.Errorf("invalid --mount %q: %s", s, why) }
	src := ""
	for _, kv := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "type":
			m.Type = v
		case "source", "src":
			src = v
		case "target", "destination", "dst":
			m.Destination = v
		case "readonly", "ro":
			m.RW = v == "false" || v == "0"
		case "tmpfs-size":
			m.Options = append(m.Options, "size="+v)
		case "tmpfs-mode":
			m.Options = append(m.Options, "mode="+v)
		case "bind-propagation", "volume-nocopy", "consistency":
		default:
			return bad(fmt.Sprintf("unknown key %q", k))
		}
	}
	if !filepath.IsAbs(m.Destination) {
		return bad("target must be an absolute path")
	}
	m.Destination = filepath.Clean(m.Destination)
	switch m.Type {
	case "bind":
		if !filepath.IsAbs(src) {
			return bad("a bind mount's source must be an absolute path")
		}
		if _, err := os.Stat(src); err != nil {
			return bad(fmt.Sprintf("bind source path does not exist: %s", src))
		}
		m.Source = filepath.Clean(src)
	case "volume":
		if src != "" && !volumeName.MatchString(src) {
			return bad("invalid volume name")
		}
		m.Name = src
	case "tmpfs":
		if src != "" {
			return bad("a tmpfs mount takes no source")
		}
	default:
		return bad("type must be bind, volume or tmpfs")
	}
	if !m.RW {
		m.Mode = "ro"
	}
	return m, nil
}

// prepareMounts creates what the record's mounts need on the host: volume
// directories (named ones once, anonymous ones named by a random ID) and
// missing -v source directories, as Docker does.
func (e *Engine) prepareMounts(mounts []Mount) error {
	for i := range mounts {
		m := &mounts[i]
		switch m.Type {
		case "volume":
			if m.Name == "" {
				m.Name = randomID()
			}
			dir, err := e.CreateVolume(m.Name)
			if err != nil {
				return err
			}
			m.Source = dir
		case "bind":
			if _, err := os.Stat(m.Source); errors.Is(err, os.ErrNotExist) {
				if err := os.MkdirAll(m.Source, 0o755); err != nil {
					return fmt.Errorf("creating the bind source %s: %w", m.Source, err)
				}
			}
		}
	}
	return nil
}

// userMounts are the record's mounts as OCI mounts, plus /etc/hosts,
// /etc/hostname and /etc/resolv.conf from the container's directory.
func (e *Engine) userMounts(c *Container) ([]specs.Mount, error) {
	var out []specs.Mount
	dir := c.dir(e)
	for _, f := range []string{"hosts", "hostname", "resolv.conf"} {
		out = append(out, specs.Mount{Destination: "/etc/" + f, Type: "bind", Source: filepath.Join(dir, f), Options: []string{"rbind", "rprivate", "nosuid", "nodev", "noexec"}})
	}
	for _, m := range c.Mounts {
		switch m.Type {
		case "tmpfs":
			opts := []string{"nosuid", "nodev"}
			if !hasOpt(m.Options, "exec") {
				opts = append(opts, "noexec")
			}
			opts = append(opts, m.Options...)
			out = append(out, specs.Mount{Destination: m.Destination, Type: "tmpfs", Source: "tmpfs", Options: opts})
		default:
			opts := []string{"rbind", "rprivate"}
			if !m.RW {
				opts = append(opts, "ro")
			}
			out = append(out, specs.Mount{Destination: m.Destination, Type: "bind", Source: m.Source, Options: opts})
		}
	}
	return out, nil
}

func hasOpt(opts []string, o string) bool {
	for _, x := range opts {
		if x == o {
			return true
		}
	}
	return false
}

// writeEtcFiles writes the files bind-mounted at /etc/hosts, /etc/hostname
// and /etc/resolv.conf: the container's own name, and the host's resolvers
// without loopback ones (they would be the container's own loopback).
func (e *Engine) writeEtcFiles(c *Container) error {
	dir := c.dir(e)
	hosts := "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
	hosts += "127.0.1.1\t" + c.Config.Hostname
	if c.Name != "" && c.Name != c.Config.Hostname {
		hosts += " " + c.Name
	}
	hosts += "\n"
	resolv := hostResolvConf()
	if c.Host.NetworkMode == "host" {
		if data, err := os.ReadFile("/etc/hosts"); err == nil {
			hosts = string(data)
		}
		if data, err := os.ReadFile("/etc/resolv.conf"); err == nil {
			resolv = string(data)
		}
	}
	files := map[string]string{"hosts": hosts, "hostname": c.Config.Hostname + "\n", "resolv.conf": resolv}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// hostResolvConf is the host's /etc/resolv.conf without loopback
// nameservers (systemd-resolved's 127.0.0.53 means nothing inside).
func hostResolvConf() string {
	data, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		return ""
	}
	var b strings.Builder
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "nameserver" && (strings.HasPrefix(f[1], "127.") || f[1] == "::1") {
			continue
		}
		if line != "" {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}
