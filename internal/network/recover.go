package network

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Recover cleans up after containers that died without Detach (a crash of
// nook or of the host): their leases, veths, port rules and namespaces go;
// the kernel objects of networks that lost them in a reboot come back when
// the next container attaches. DNS servers of networks without members are
// stopped, and those of networks with members restarted if they died.
//
// alive must return true for every container that exists and may still use
// its network, including ones created but not yet started: Recover removes
// the namespace of any container it calls dead.
func (m *Manager) Recover(alive func(containerID string) bool) error {
	return m.locked(func() error {
		all, err := m.loadAll()
		if err != nil {
			return err
		}
		var errs []error
		members := map[string]bool{} // "id net" of live members
		for _, s := range all {
			for id := range s.Members {
				if alive(id) {
					members[id+" "+s.Name] = true
					continue
				}
				m.log.Debug("recover: detaching dead container", "network", s.Name, "container", id)
				if err := m.detach(s, id); err != nil {
					errs = append(errs, err)
				}
			}
			if err := m.syncDNS(s); err != nil {
				errs = append(errs, err)
			}
		}
		if err := m.removeStrayPortRules(members); err != nil {
			errs = append(errs, err)
		}
		ents, err := os.ReadDir(m.netnsDir())
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("listing %s: %w", m.netnsDir(), err))
		}
		for _, e := range ents {
			if !alive(e.Name()) {
				m.log.Debug("recover: removing netns of dead container", "container", e.Name())
				if err := m.removeNetnsPath(filepath.Join(m.netnsDir(), e.Name())); err != nil {
					errs = append(errs, err)
				}
			}
		}
		return errors.Join(errs...)
	})
}

// removeStrayPortRules deletes port rules of containers that are not
// members (left by a crash between adding rules and saving state).
func (m *Manager) removeStrayPortRules(members map[string]bool) error {
	n, err := m.nft()
	if err != nil {
		return err
	}
	if ok, err := n.exists(); err != nil || !ok {
		return err
	}
	stray := func(tag string) bool {
		id, net, ok := parsePortTag(tag)
		return ok && !members[id+" "+net]
	}
	if err := n.deleteTagged(chainHostports, stray); err != nil {
		return err
	}
	return n.flush("removing stray port rules")
}

// Reset removes everything nook's networking made: DNS servers, veths,
// bridges, the nftables table, namespaces and state. Only the
// ip_forward sysctl stays as it is.
func (m *Manager) Reset() error {
	return m.locked(func() error {
		var errs []error
		keep := func(err error) {
			if err != nil {
				errs = append(errs, err)
			}
		}
		all, err := m.loadAll()
		keep(err)
		bridges := map[string]bool{}
		for _, s := range all {
			keep(m.stopDNS(s.Name))
			for _, mb := range s.Members {
				keep(m.deleteLink(mb.HostVeth))
			}
			bridges[s.Bridge] = true
		}
		// Bridges whose state was lost still carry nook's names.
		re := regexp.MustCompile("^" + regexp.QuoteMeta(m.cfg.bridgePrefix) + "[0-9]+$")
		links, err := netlink.LinkList()
		keep(err)
		for _, l := range links {
			if l.Type() == "bridge" && re.MatchString(l.Attrs().Name) {
				bridges[l.Attrs().Name] = true
			}
		}
		for b := range bridges {
			keep(m.deleteLink(b))
		}
		keep(m.deleteTable())
		ents, _ := os.ReadDir(m.netnsDir())
		for _, e := range ents {
			keep(m.removeNetnsPath(filepath.Join(m.netnsDir(), e.Name())))
		}
		if err := unix.Unmount(m.netnsDir(), unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			keep(fmt.Errorf("unmounting %s: %w", m.netnsDir(), err))
		}
		for _, d := range []string{"networks", "dns", "netns"} {
			keep(os.RemoveAll(filepath.Join(m.root, d)))
		}
		for _, d := range []string{"networks", "dns"} {
			keep(os.MkdirAll(filepath.Join(m.root, d), 0o700))
		}
		if len(errs) > 0 {
			return fmt.Errorf("resetting networking: %w", errors.Join(errs...))
		}
		return nil
	})
}
