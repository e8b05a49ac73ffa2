package dns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/miekg/dns"
)

// ttl of answers about containers: short, since containers come and go.
const ttl = 5

// upstreamTimeout bounds one forwarded query.
const upstreamTimeout = 2 * time.Second

// Serve answers queries on cfg.Listen until ctx ends or the records file is
// removed. Listening errors are returned at once.
func Serve(ctx context.Context, cfg Config) error {
	log := slog.Default().With("network", cfg.Network)
	s := &server{cfg: cfg, log: log}
	if _, err := s.lookup("", netip.Addr{}); err != nil {
		return err
	}
	if len(cfg.Listen) == 0 {
		return errors.New("dns server: no listen address")
	}
	var srvs []*dns.Server
	closeAll := func() {
		for _, srv := range srvs {
			if srv.PacketConn != nil {
				srv.PacketConn.Close()
			}
			if srv.Listener != nil {
				srv.Listener.Close()
			}
		}
	}
	for _, addr := range cfg.Listen {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			closeAll()
			return fmt.Errorf("dns server: listening on udp %s: %w", addr, err)
		}
		srvs = append(srvs, &dns.Server{PacketConn: pc, Handler: s})
		l, err := net.Listen("tcp", addr)
		if err != nil {
			closeAll()
			return fmt.Errorf("dns server: listening on tcp %s: %w", addr, err)
		}
		srvs = append(srvs, &dns.Server{Listener: l, Handler: s})
		log.Debug("dns server listening", "addr", addr)
	}
	errc := make(chan error, len(srvs))
	for _, srv := range srvs {
		go func() { errc <- srv.ActivateAndServe() }()
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var err error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err = <-errc:
			err = fmt.Errorf("dns server: %w", err)
			break loop
		case <-tick.C:
			if _, serr := os.Stat(cfg.Records); errors.Is(serr, os.ErrNotExist) {
				log.Debug("dns records removed; exiting", "path", cfg.Records)
				break loop
			}
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for _, srv := range srvs {
		srv.ShutdownContext(sctx)
	}
	return err
}

type server struct {
	cfg Config
	log *slog.Logger

	mu     sync.Mutex
	stamp  fileStamp
	loaded bool
	table  table
}

// fileStamp identifies a version of the records file; the Manager replaces
// it by rename, so the inode changes with every version.
type fileStamp struct {
	ino   uint64
	size  int64
	mtime time.Time
}

// lookup returns the addresses of name that client may see, rereading
// the records file first if it changed.
func (s *server) lookup(name string, client netip.Addr) ([]netip.Addr, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fi, err := os.Stat(s.cfg.Records)
	if err != nil {
		return nil, fmt.Errorf("dns server: %w", err)
	}
	st := fileStamp{size: fi.Size(), mtime: fi.ModTime()}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.ino = sys.Ino
	}
	if !s.loaded || st != s.stamp {
		t, err := readRecords(s.cfg.Records, s.cfg.Network)
		if err != nil {
			return nil, err
		}
		s.table, s.stamp, s.loaded = t, st, true
		s.log.Debug("dns records loaded", "names", len(t.names), "clients", len(t.clients))
	}
	return s.table.lookup(name, client, s.cfg.Network), nil
}

// reverse returns a name of a member with address a.
func (s *server) reverse(a netip.Addr) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	best := ""
	for n, ips := range s.table.names {
		for _, ip := range ips {
			if ip.ip == a && (best == "" || n < best) {
				best = n
			}
		}
	}
	return best
}

// ServeDNS answers one query.
func (s *server) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	if len(r.Question) != 1 {
		m := new(dns.Msg)
		m.SetRcode(r, dns.RcodeFormatError)
		w.WriteMsg(m)
		return
	}
	q := r.Question[0]
	name := strings.ToLower(strings.TrimSuffix(q.Name, "."))
	var client netip.Addr
	if ap, err := netip.ParseAddrPort(w.RemoteAddr().String()); err == nil {
		client = ap.Addr().Unmap()
	}
	if m := s.local(r, q, name, client); m != nil {
		w.WriteMsg(m)
		return
	}
	if s.cfg.Internal || len(s.cfg.Upstreams) == 0 {
		m := new(dns.Msg)
		m.SetRcode(r, dns.RcodeNameError)
		w.WriteMsg(m)
		return
	}
	w.WriteMsg(s.forward(r, w.LocalAddr().Network()))
}

// local answers from the records, or returns nil for names it does not
// know.
func (s *server) local(r *dns.Msg, q dns.Question, name string, client netip.Addr) *dns.Msg {
	if q.Qclass != dns.ClassINET {
		return nil
	}
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative, m.RecursionAvailable = true, true
	if q.Qtype == dns.TypePTR {
		ip, ok := parseReverse(name)
		if !ok {
			return nil
		}
		if _, err := s.lookup("", client); err != nil {
			return nil
		}
		host := s.reverse(ip)
		if host == "" {
			return nil
		}
		m.Answer = append(m.Answer, &dns.PTR{
			Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: ttl},
			Ptr: dns.Fqdn(host),
		})
		return m
	}
	ips, err := s.lookup(name, client)
	if err != nil {
		s.log.Warn("dns records", "err", err)
	}
	if len(ips) == 0 {
		return nil
	}
	if q.Qtype == dns.TypeA || q.Qtype == dns.TypeANY {
		for _, ip := range ips {
			m.Answer = append(m.Answer, &dns.A{
				Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: ttl},
				A:   net.IP(ip.AsSlice()),
			})
		}
	}
	// Other types of a known name: NOERROR without answers (NODATA).
	return m
}

// forward relays r to the upstreams in turn over the client's transport.
func (s *server) forward(r *dns.Msg, network string) *dns.Msg {
	c := &dns.Client{Net: "udp", Timeout: upstreamTimeout}
	if network == "tcp" {
		c.Net = "tcp"
	}
	for _, up := range s.cfg.Upstreams {
		resp, _, err := c.Exchange(r, up)
		if err != nil {
			s.log.Debug("dns upstream", "upstream", up, "err", err)
			continue
		}
		resp.Id = r.Id
		return resp
	}
	m := new(dns.Msg)
	m.SetRcode(r, dns.RcodeServerFailure)
	return m
}

// parseReverse turns "4.3.2.1.in-addr.arpa" into 1.2.3.4.
func parseReverse(name string) (netip.Addr, bool) {
	rest, ok := strings.CutSuffix(name, ".in-addr.arpa")
	if !ok {
		return netip.Addr{}, false
	}
	p := strings.Split(rest, ".")
	if len(p) != 4 {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(p[3] + "." + p[2] + "." + p[1] + "." + p[0])
	return a, err == nil
}
