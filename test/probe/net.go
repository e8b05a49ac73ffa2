package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"
)

// The network commands stand in for nc and nslookup in network tests:
// busybox's are either missing from a minimal image or, statically linked
// against glibc, crash in its NSS code. The probe is built with the pure Go
// resolver, which reads the container's /etc/resolv.conf itself.
//
// Each prints one JSON object, and exits 0 whether or not the connection
// or lookup succeeded: the object says what happened.

// dialResult is what dial prints.
type dialResult struct {
	Connected bool   `json:"connected"`
	Local     string `json:"local,omitempty"`
	Remote    string `json:"remote,omitempty"`
	Reply     string `json:"reply,omitempty"`
	Error     string `json:"error,omitempty"`
}

// dial connects to addr over TCP within d, half-closes the connection and
// reads what the server sends until it closes or d has passed.
func dial(addr string, d time.Duration) dialResult {
	deadline := time.Now().Add(d)
	c, err := net.DialTimeout("tcp", addr, d)
	if err != nil {
		return dialResult{Error: err.Error()}
	}
	defer c.Close()
	r := dialResult{Connected: true, Local: c.LocalAddr().String(), Remote: c.RemoteAddr().String()}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
	c.SetReadDeadline(deadline)
	data, err := io.ReadAll(io.LimitReader(c, 4096))
	r.Reply = string(data)
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		r.Error = "reading: " + err.Error()
	}
	return r
}

// serve listens on addr over TCP and answers every connection with
// "peer=ADDR\n", the client's address as seen here, then closes it. It
// prints {"listening":ADDR} once ready and {"peer":ADDR} per connection, and
// runs until killed. Output is best effort: a container's stdout is a
// pipe to nook's monitor, and a server whose monitor was killed must keep
// answering (EPIPE ignored, where Go would otherwise die of SIGPIPE).
func serve(addr string) error {
	signal.Ignore(syscall.SIGPIPE)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if err := printJSON(map[string]string{"listening": l.Addr().String()}); err != nil {
		return err
	}
	for {
		c, err := l.Accept()
		if err != nil {
			return err
		}
		peer := c.RemoteAddr().String()
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "peer=%s\n", peer)
		c.Close()
		printJSON(map[string]string{"peer": peer})
	}
}

// lookupResult is what resolve and lookup print.
type lookupResult struct {
	Addrs    []string `json:"addrs"`
	NotFound bool     `json:"notFound,omitempty"`
	Error    string   `json:"error,omitempty"`
}

// lookup resolves name to IPv4 addresses (A queries only) with the
// nameservers of /etc/resolv.conf or, when server is not empty, with
// server:53 alone.
func lookup(name, server string) lookupResult {
	r := &net.Resolver{PreferGo: true}
	if server != "" {
		ip, err := netip.ParseAddr(server)
		if err != nil {
			return lookupResult{Error: fmt.Sprintf("bad server address %q", server)}
		}
		to := netip.AddrPortFrom(ip, 53).String()
		r.Dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, to)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ips, err := r.LookupNetIP(ctx, "ip4", name)
	out := lookupResult{Addrs: []string{}}
	for _, ip := range ips {
		out.Addrs = append(out.Addrs, ip.Unmap().String())
	}
	slices.Sort(out.Addrs)
	if err != nil {
		out.Error = err.Error()
		var de *net.DNSError
		out.NotFound = errors.As(err, &de) && de.IsNotFound
	}
	return out
}
