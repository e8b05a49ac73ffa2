package network

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Talking to containers, from the test's host and from inside containers.

func syscallKill(pid int) { unix.Kill(pid, unix.SIGKILL) }

func lazyUnmount(path string) { unix.Unmount(path, unix.MNT_DETACH) }

// dialContext connects to addr (an IP address and port) from the test's
// namespace: the socket is made on a thread that has entered the namespace
// for that moment (a socket keeps the namespace it was made in), so the
// test itself is the host's client, without a process per connection.
func (h *host) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		runtime.LockOSThread()
		// Unlocked only once back in the original namespace: a goroutine
		// that exits locked takes its thread with it (runtime.LockOSThread).
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			ch <- res{nil, err}
			return
		}
		defer orig.Close()
		target, err := os.Open(h.nsPath)
		if err != nil {
			ch <- res{nil, err}
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- res{nil, fmt.Errorf("entering %s: %w", h.nsPath, err)}
			return
		}
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		ch <- res{c, err}
	}()
	r := <-ch
	return r.c, r.err
}

// hostDial is a probe-style exchange from the test's host: connect within
// timeout, half-close, read the reply.
func (h *host) hostDial(addr string, timeout time.Duration) dialResult {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := h.dialContext(ctx, "tcp", addr)
	if err != nil {
		return dialResult{Error: err.Error()}
	}
	defer c.Close()
	r := dialResult{Connected: true, Local: c.LocalAddr().String(), Remote: c.RemoteAddr().String()}
	c.(*net.TCPConn).CloseWrite()
	c.SetReadDeadline(time.Now().Add(timeout))
	data, err := io.ReadAll(io.LimitReader(c, 4096))
	r.Reply = string(data)
	if err != nil {
		r.Error = "reading: " + err.Error()
	}
	return r
}

// httpGet fetches url from the test's host and returns the body.
func (h *host) httpGet(url string, timeout time.Duration) (string, error) {
	c := &http.Client{
		Timeout:   timeout,
		Transport: &http.Transport{DialContext: h.dialContext, DisableKeepAlives: true},
	}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return string(body), fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(body), nil
}

// dialResult is what `probe dial` prints.
type dialResult struct {
	Connected bool   `json:"connected"`
	Local     string `json:"local"`
	Remote    string `json:"remote"`
	Reply     string `json:"reply"`
	Error     string `json:"error"`
}

// peer is the client address a probe server reported ("peer=ADDR").
func (r dialResult) peer() string {
	s, _ := strings.CutPrefix(strings.TrimSpace(r.Reply), "peer=")
	return s
}

// peerIP is peer without the port.
func (r dialResult) peerIP() string {
	ip, _, _ := net.SplitHostPort(r.peer())
	return ip
}

// lookupResult is what `probe resolve` and `probe lookup` print.
type lookupResult struct {
	Addrs    []string `json:"addrs"`
	NotFound bool     `json:"notFound"`
	Error    string   `json:"error"`
}

// probeIn runs /probe args... in a container (`nook exec`) and decodes its
// JSON output into v. Safe to call from any goroutine.
func (h *host) probeIn(ctr string, v any, args ...string) error {
	r, err := h.exec(append([]string{"exec", ctr, "/probe"}, args...)...)
	if err != nil {
		return err
	}
	if r.Code != 0 {
		return fmt.Errorf("%s", r)
	}
	if err := json.Unmarshal([]byte(r.Stdout), v); err != nil {
		return fmt.Errorf("decoding the probe's output: %v: %s", err, r)
	}
	return nil
}

// dialFrom connects from inside a container to addr (host:port; a name is
// resolved with the container's resolv.conf) within seconds.
func (h *host) dialFrom(ctr, addr string, seconds float64) (dialResult, error) {
	var r dialResult
	err := h.probeIn(ctr, &r, "dial", addr, fmt.Sprint(seconds))
	return r, err
}

// resolveFrom looks name up from inside a container: with its resolv.conf
// when server is "", else asking server:53 alone.
func (h *host) resolveFrom(ctr, name, server string) (lookupResult, error) {
	var r lookupResult
	var err error
	if server == "" {
		err = h.probeIn(ctr, &r, "resolve", name)
	} else {
		err = h.probeIn(ctr, &r, "lookup", name, server)
	}
	return r, err
}

// waitServing waits until the probe server of a container answers on
// addr (its address and port 8000) from the test's host.
func (h *host) waitServing(what, addr string) {
	h.t.Helper()
	waitFor(h.t, what+" to serve on "+addr, func() (bool, string) {
		r := h.hostDial(addr, 2*time.Second)
		return r.Connected && strings.HasPrefix(r.Reply, "peer="), fmt.Sprintf("%+v", r)
	})
}

// parallel runs fn(0..n-1) on at most limit goroutines and waits.
func parallel(n, limit int, fn func(i int)) {
	sem := make(chan struct{}, limit)
	done := make(chan struct{})
	for i := range n {
		go func() {
			sem <- struct{}{}
			defer func() { <-sem; done <- struct{}{} }()
			fn(i)
		}()
	}
	for range n {
		<-done
	}
}
