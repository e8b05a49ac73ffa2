package network

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nook-containers/nook/internal/network/dns"
)

// A user-defined network's DNS server is a separate process (DNSCommand,
// normally `nook dns-server`) in its own session, so it outlives the nook
// command that started it. Its pid file holds "PID STARTTIME" (the start
// time from /proc/PID/stat), so that a recycled PID is never signalled.

// dnsReadyTimeout bounds the wait for a new server to accept connections.
const dnsReadyTimeout = 5 * time.Second

func (m *Manager) dnsDir(network string) string { return filepath.Join(m.root, "dns", network) }

// syncDNS brings a network's DNS server in line with its members: records
// rewritten, server started with the first member and stopped after the
// last. Preconditions: m.locked.
func (m *Manager) syncDNS(s *netState) error {
	if !s.HasDNS() {
		return nil
	}
	dir := m.dnsDir(s.Name)
	records := filepath.Join(dir, "records.json")
	if len(s.Members) == 0 {
		err := m.stopDNS(s.Name)
		if rerr := os.Remove(records); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
			err = fmt.Errorf("removing dns records: %w", rerr)
		}
		return err
	}
	if m.DNSCommand == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	all, err := m.loadAll()
	if err != nil {
		return err
	}
	for i, o := range all {
		if o.Name == s.Name {
			all[i] = s // the caller's copy may be newer than the saved one
		}
	}
	if err := dns.WriteRecords(records, dnsRecords(s, all)); err != nil {
		return err
	}
	if m.dnsRunning(s.Name) {
		return nil
	}
	return m.startDNS(s, records)
}

// dnsRecords lists the names of a network's members: container name,
// aliases and, as in Docker, the 12-character short ID.
//
// A member on other networks too asks this server for names there as well
// (its resolv.conf names the first network's server only): the records
// also hold the members of every network that shares a member with s, each
// tagged with its network, and Clients says which networks each member of
// s is on, so that it is answered from those alone.
func dnsRecords(s *netState, all []*netState) dns.Records {
	recs := dns.Records{Clients: map[string][]string{}}
	related := map[string]bool{s.Name: true}
	for id, mb := range s.Members {
		var nets []string
		for _, o := range all {
			if _, ok := o.Members[id]; ok && o.HasDNS() {
				nets = append(nets, o.Name)
				related[o.Name] = true
			}
		}
		sort.Strings(nets)
		recs.Clients[mb.IP.String()] = nets
	}
	for _, o := range all {
		if !related[o.Name] {
			continue
		}
		for _, mb := range o.Members {
			r := dns.Record{Name: mb.Name, Aliases: append([]string(nil), mb.Aliases...), IPs: []netip.Addr{mb.IP}, Network: o.Name}
			if len(mb.ContainerID) >= 12 {
				r.Aliases = append(r.Aliases, mb.ContainerID[:12])
			}
			recs.Records = append(recs.Records, r)
		}
	}
	sort.Slice(recs.Records, func(i, j int) bool { return recs.Records[i].IPs[0].Less(recs.Records[j].IPs[0]) })
	return recs
}

// syncRelatedDNS resyncs the servers of the other networks after container
// id joined or left changed: their records may name changed's members (a
// member of both) and list the networks each member is on. All of them,
// not only id's: a network is related to changed through any member.
// Preconditions: m.locked.
func (m *Manager) syncRelatedDNS(id string, changed *netState) error {
	all, err := m.loadAll()
	if err != nil {
		return err
	}
	var errs []error
	for _, o := range all {
		if o.Name != changed.Name && len(o.Members) > 0 {
			errs = append(errs, m.syncDNS(o))
		}
	}
	return errors.Join(errs...)
}

func (m *Manager) upstreams() []string {
	if m.cfg.upstreams != nil {
		return m.cfg.upstreams
	}
	return hostUpstreams()
}

// startDNS starts a network's server and waits until it accepts TCP
// connections on the gateway.
func (m *Manager) startDNS(s *netState, records string) error {
	dir := m.dnsDir(s.Name)
	listen := netip.AddrPortFrom(s.Gateway, 53).String()
	cfgPath := filepath.Join(dir, "config.json")
	cfg := dns.Config{Network: s.Name, Listen: []string{listen}, Records: records, Upstreams: m.upstreams(), Internal: s.Internal}
	if err := dns.WriteConfig(cfgPath, cfg); err != nil {
		return err
	}
	logf, err := os.OpenFile(filepath.Join(dir, "log"), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("opening dns server log: %w", err)
	}
	defer logf.Close()
	// The server serves only once its pid is recorded (dns.AwaitStart): if
	// this process is killed before, the pipe closes and the server exits,
	// instead of running on where no stopDNS can find it.
	goR, goW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer goW.Close()
	cmd := m.DNSCommand(s.Name)
	cmd.Env = append(cmd.Environ(), dns.ConfigEnv+"="+cfgPath, fmt.Sprintf("%s=%d", dns.StartFDEnv, 3+len(cmd.ExtraFiles)))
	cmd.ExtraFiles = append(cmd.ExtraFiles, goR)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	goR.Close()
	if err != nil {
		return fmt.Errorf("starting dns server of network %s: %w", s.Name, err)
	}
	pid := cmd.Process.Pid
	m.log.Debug("dns server started", "network", s.Name, "pid", pid, "listen", listen, "args", cmd.Args)
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	start, err := procStart(pid)
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "pid"), []byte(fmt.Sprintf("%d %d\n", pid, start)), 0o644)
	}
	if err != nil {
		cmd.Process.Kill()
		select {
		case <-exited:
			return fmt.Errorf("dns server of network %s exited: %s", s.Name, logTail(filepath.Join(dir, "log")))
		case <-time.After(time.Second):
		}
		return fmt.Errorf("recording dns server pid: %w", err)
	}
	if _, err := goW.Write([]byte{1}); err != nil {
		m.log.Debug("dns server start signal", "error", err) // it exited: seen below
	}
	deadline := time.Now().Add(dnsReadyTimeout)
	for {
		c, err := net.DialTimeout("tcp", listen, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-exited:
			os.Remove(filepath.Join(dir, "pid"))
			return fmt.Errorf("dns server of network %s exited: %s", s.Name, logTail(filepath.Join(dir, "log")))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			m.stopDNS(s.Name)
			return fmt.Errorf("dns server of network %s not listening on %s after %s", s.Name, listen, dnsReadyTimeout)
		}
	}
}

// dnsPid returns the server's pid if it is running.
func (m *Manager) dnsPid(network string) (int, bool) {
	data, err := os.ReadFile(filepath.Join(m.dnsDir(network), "pid"))
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(data))
	if len(f) != 2 {
		return 0, false
	}
	pid, err1 := strconv.Atoi(f[0])
	start, err2 := strconv.ParseUint(f[1], 10, 64)
	if err1 != nil || err2 != nil || pid <= 0 {
		return 0, false
	}
	if cur, err := procStart(pid); err != nil || cur != start {
		return 0, false
	}
	return pid, true
}

func (m *Manager) dnsRunning(network string) bool {
	_, ok := m.dnsPid(network)
	return ok
}

// stopDNS stops a network's server (SIGTERM, then SIGKILL after 2s).
func (m *Manager) stopDNS(network string) error {
	pidFile := filepath.Join(m.dnsDir(network), "pid")
	pid, ok := m.dnsPid(network)
	if ok {
		m.log.Debug("stopping dns server", "network", network, "pid", pid)
		syscall.Kill(pid, syscall.SIGTERM)
		deadline := time.Now().Add(2 * time.Second)
		for m.dnsRunning(network) {
			if time.Now().After(deadline) {
				syscall.Kill(pid, syscall.SIGKILL)
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if err := os.Remove(pidFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing %s: %w", pidFile, err)
	}
	return nil
}

// procStart returns the start time of a live, non-zombie process
// (proc(5), /proc/PID/stat fields 3 and 22).
func procStart(pid int) (uint64, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, errors.New("malformed stat")
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 20 {
		return 0, errors.New("malformed stat")
	}
	if f[0] == "Z" || f[0] == "X" {
		return 0, errors.New("process exited")
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// logTail returns the last line of a log, for error messages.
func logTail(path string) string {
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if last := lines[len(lines)-1]; last != "" {
		return last
	}
	return "no output"
}
