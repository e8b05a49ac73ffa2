package network

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Root tests build everything under names no real nook uses: bridges
// nkt<rand>N, veths n<rand>..., table "inet nooktest<rand>", subnets in
// 10.123.0.0/16 (not routed on the test hosts), and every cleanup runs
// even when a test fails.

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

type testEnv struct {
	t    *testing.T
	root string
	opts []Option
	m    *Manager
}

// newEnv returns a Manager isolated from the host's nook and from other
// tests; pool is the range its user networks' /24s come from.
func newEnv(t *testing.T, pool string) *testEnv {
	requireRoot(t)
	rnd := make([]byte, 2)
	rand.Read(rnd)
	tag := hex.EncodeToString(rnd)
	e := &testEnv{t: t, root: t.TempDir()}
	e.opts = []Option{
		WithBridgePrefix("nkt" + tag),
		WithVethPrefix("n" + tag),
		WithTable("nooktest" + tag),
		WithDefaultSubnet(netip.MustParsePrefix("10.123.250.0/24")),
		WithSubnetPool(netip.MustParsePrefix(pool)),
		WithUpstreams([]string{}), // never forward to the host's resolvers
	}
	e.m = e.open()
	// Registered after TempDir, so it runs before the directory is removed.
	t.Cleanup(func() {
		if err := e.m.Reset(); err != nil {
			t.Errorf("Reset: %v", err)
		}
		e.assertClean()
	})
	return e
}

// open returns another Manager on the same root, like another nook process.
func (e *testEnv) open() *Manager {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	m, err := Open(e.root, log, e.opts...)
	if err != nil {
		e.t.Fatal(err)
	}
	m.DNSCommand = func(string) *exec.Cmd {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), "NOOK_TEST_DNS=1")
		return cmd
	}
	return m
}

// assertClean checks that nothing of the env survived Reset, removing
// whatever did so that a failing test leaves the host clean.
func (e *testEnv) assertClean() {
	t := e.t
	links, err := netlink.LinkList()
	if err != nil {
		t.Error(err)
	}
	for _, l := range links {
		name := l.Attrs().Name
		if strings.HasPrefix(name, e.m.cfg.bridgePrefix) || strings.HasPrefix(name, e.m.cfg.vethPrefix) {
			t.Errorf("link %s survived Reset", name)
			netlink.LinkDel(l)
		}
	}
	n, err := e.m.nft()
	if err != nil {
		t.Error(err)
		return
	}
	if ok, _ := n.exists(); ok {
		t.Errorf("table inet %s survived Reset", e.m.cfg.table)
		e.m.deleteTable()
	}
	if ents, _ := os.ReadDir(e.m.netnsDir()); len(ents) > 0 {
		t.Errorf("netns dir not empty after Reset: %v", ents)
	}
	if nets, _ := os.ReadDir(e.root + "/networks"); len(nets) > 0 {
		t.Errorf("network state survived Reset: %v", nets)
	}
}

// netns makes a namespace for a fake container.
func (e *testEnv) netns(id string) string {
	p, err := e.m.NewNetns(id)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// inNetns runs fn on an OS thread inside the namespace at path. Sockets
// made by fn stay in that namespace after it returns.
func inNetns(path string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer unix.Close(orig)
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		err = unix.Setns(fd, unix.CLONE_NEWNET)
		unix.Close(fd)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		err = fn()
		if unix.Setns(orig, unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

// serve listens on addr inside a namespace and answers every connection
// with greeting.
func serve(t *testing.T, nsPath, addr, greeting string) {
	t.Helper()
	var l net.Listener
	err := inNetns(nsPath, func() (err error) {
		l, err = net.Listen("tcp4", addr)
		return err
	})
	if err != nil {
		t.Fatalf("listening on %s in %s: %v", addr, nsPath, err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte(greeting))
			c.Close()
		}
	}()
}

// dial connects to addr from a namespace (the host's when nsPath is "")
// and returns what the server said.
func dial(nsPath, addr string, timeout time.Duration) (string, error) {
	var got string
	do := func() error {
		c, err := net.DialTimeout("tcp4", addr, timeout)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(timeout))
		b, err := io.ReadAll(c)
		got = string(b)
		return err
	}
	if nsPath == "" {
		return got, do()
	}
	return got, inNetns(nsPath, do)
}

func mustDial(t *testing.T, nsPath, addr, want string) {
	t.Helper()
	got, err := dial(nsPath, addr, 2*time.Second)
	if err != nil || got != want {
		t.Fatalf("dial %s from %q = %q, %v; want %q", addr, nsPath, got, err, want)
	}
}

// defaultRoute reports whether the namespace has an IPv4 default route.
func defaultRoute(t *testing.T, nsPath string) bool {
	t.Helper()
	h, err := nsHandle(nsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	routes, err := h.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range routes {
		if r.Dst == nil || (r.Dst.IP.IsUnspecified() && isZeroMask(r.Dst.Mask)) {
			return true
		}
	}
	return false
}

func linkExists(name string) bool {
	_, err := netlink.LinkByName(name)
	var nf netlink.LinkNotFoundError
	return !errors.As(err, &nf)
}

func addrPort(a netip.Addr, port uint16) string {
	return netip.AddrPortFrom(a, port).String()
}

// logRuleset logs nook's table as nft(8) prints it, when -v and nft is
// installed: a diagnostic only.
func (e *testEnv) logRuleset() {
	if !testing.Verbose() {
		return
	}
	out, err := exec.Command("nft", "list", "table", "inet", e.m.cfg.table).CombinedOutput()
	if err == nil {
		e.t.Logf("nft list table inet %s:\n%s", e.m.cfg.table, out)
	}
}
