package network

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"strings"
)

// HostEntry is an extra /etc/hosts line (--add-host).
type HostEntry struct {
	IP    netip.Addr
	Names []string
}

// HostsConfig is what a container's /etc/hosts is made from.
type HostsConfig struct {
	Hostname    string       // the container's hostname
	Names       []string     // more names for the container's own addresses (its name, aliases)
	Attachments []Attachment // the container's addresses
	Extra       []HostEntry
}

// HostsFile returns the content of a container's /etc/hosts: the usual
// localhost lines, the extra entries, then each of the container's
// addresses with its hostname and names. A container without any address
// (network "none") gets its hostname on 127.0.1.1, as Debian does, so that
// it still resolves.
func HostsFile(c HostsConfig) []byte {
	var b bytes.Buffer
	b.WriteString("127.0.0.1\tlocalhost\n")
	b.WriteString("::1\tlocalhost ip6-localhost ip6-loopback\n")
	b.WriteString("fe00::0\tip6-localnet\n")
	b.WriteString("ff00::0\tip6-mcastprefix\n")
	b.WriteString("ff02::1\tip6-allnodes\n")
	b.WriteString("ff02::2\tip6-allrouters\n")
	for _, e := range c.Extra {
		if e.IP.IsValid() && len(e.Names) > 0 {
			fmt.Fprintf(&b, "%s\t%s\n", e.IP, strings.Join(e.Names, " "))
		}
	}
	var names []string
	seen := map[string]bool{}
	for _, n := range append([]string{c.Hostname}, c.Names...) {
		if n != "" && !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return b.Bytes()
	}
	if len(c.Attachments) == 0 {
		fmt.Fprintf(&b, "127.0.1.1\t%s\n", strings.Join(names, " "))
	}
	for _, a := range c.Attachments {
		if a.IP.IsValid() {
			fmt.Fprintf(&b, "%s\t%s\n", a.IP, strings.Join(names, " "))
		}
	}
	return b.Bytes()
}

// ResolvOptions are the user's --dns, --dns-search and --dns-option; each
// replaces what would otherwise come from the host or the network.
type ResolvOptions struct {
	Servers []string
	Search  []string
	Options []string
}

// fallbackServers are used, as Docker does, when the host lists no
// nameserver a container could reach.
var fallbackServers = []string{"8.8.8.8", "8.8.4.4"}

// ResolvConf returns the content of a container's /etc/resolv.conf.
// Nameservers: the user's, else the DNS server of the first attached
// network that has one (its gateway), else the host's nameservers without
// loopback ones (they would mean the container's own loopback: this is
// systemd-resolved's 127.0.0.53) and without IPv6 ones (nook's networks are
// IPv4-only), else Google's public resolvers. Search domains and options
// come from the host unless given.
func ResolvConf(host []byte, atts []Attachment, o ResolvOptions) []byte {
	h := parseResolvConf(host)
	servers := o.Servers
	if len(servers) == 0 {
		for _, a := range atts {
			if a.DNSServer.IsValid() {
				servers = []string{a.DNSServer.String()}
				break
			}
		}
	}
	if len(servers) == 0 {
		for _, s := range h.servers {
			ip, err := netip.ParseAddr(s)
			if err != nil || ip.IsLoopback() || !ip.Is4() {
				continue
			}
			servers = append(servers, s)
		}
	}
	if len(servers) == 0 {
		servers = fallbackServers
	}
	search, opts := h.search, h.options
	if o.Search != nil {
		search = o.Search
	}
	if o.Options != nil {
		opts = o.Options
	}
	var b bytes.Buffer
	for _, s := range servers {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	if len(search) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(search, " "))
	}
	if len(opts) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(opts, " "))
	}
	return b.Bytes()
}

type resolvConf struct {
	servers, search, options []string
}

// parseResolvConf reads the nameserver, search/domain and options lines of
// a resolv.conf(5); the last search or domain line wins, as in glibc.
func parseResolvConf(data []byte) resolvConf {
	var r resolvConf
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexAny(line, "#;"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "nameserver":
			r.servers = append(r.servers, f[1])
		case "search", "domain":
			r.search = append([]string(nil), f[1:]...)
		case "options":
			r.options = append(r.options, f[1:]...)
		}
	}
	return r
}

// HostResolvConf returns the host's /etc/resolv.conf; when it lists only
// systemd-resolved's stub (127.0.0.53) and resolved's upstream file exists,
// that file instead, as Docker does.
func HostResolvConf() []byte {
	data, _ := os.ReadFile("/etc/resolv.conf")
	r := parseResolvConf(data)
	onlyStub := len(r.servers) > 0
	for _, s := range r.servers {
		if s != "127.0.0.53" {
			onlyStub = false
		}
	}
	if onlyStub {
		if up, err := os.ReadFile("/run/systemd/resolve/resolv.conf"); err == nil {
			return up
		}
	}
	return data
}

// hostUpstreams are the resolvers a DNS server (running in the host's
// network namespace, so loopback ones work) forwards to.
func hostUpstreams() []string {
	data, _ := os.ReadFile("/etc/resolv.conf")
	var out []string
	for _, s := range parseResolvConf(data).servers {
		if ip, err := netip.ParseAddr(s); err == nil {
			out = append(out, netip.AddrPortFrom(ip, 53).String())
		}
	}
	return out
}
