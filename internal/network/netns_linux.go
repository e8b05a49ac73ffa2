package network

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// A container's network namespace is created before the container and kept
// alive by a bind mount of its nsfs file, like `ip netns add`: the engine
// sets the network up in it, the runtime joins it by path (the OCI spec's
// network namespace path), and RemoveNetns releases it after the container
// is gone.

func (m *Manager) netnsDir() string { return filepath.Join(m.root, "netns") }

// NetnsPath returns where the namespace of a container is (or would be)
// mounted.
func (m *Manager) NetnsPath(containerID string) string {
	return filepath.Join(m.netnsDir(), containerID)
}

// NewNetns creates a persistent network namespace for a container, with
// its loopback interface up, and returns its path.
func (m *Manager) NewNetns(containerID string) (string, error) {
	if err := checkName("container ID", containerID); err != nil {
		return "", err
	}
	var path string
	err := m.locked(func() error {
		var err error
		path, err = m.newNetns(containerID)
		return err
	})
	return path, err
}

// newNetns does NewNetns's work. Preconditions: m.locked (two processes
// making the directory shared at once would stack two bind mounts).
func (m *Manager) newNetns(containerID string) (string, error) {
	dir := m.netnsDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating %s: %w", dir, err)
	}
	if err := m.makeShared(dir); err != nil {
		return "", err
	}
	path := m.NetnsPath(containerID)
	if isNetns(path) {
		return "", fmt.Errorf("network namespace of container %s: %w", containerID, ErrExists)
	}
	// A leftover mount point without a namespace (after a reboot) is reused.
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("removing stale %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if errors.Is(err, os.ErrExist) {
		return "", fmt.Errorf("network namespace of container %s: %w", containerID, ErrExists)
	}
	if err != nil {
		return "", fmt.Errorf("creating netns mount point %s: %w", path, err)
	}
	f.Close()
	if err := m.mountNewNetns(path); err != nil {
		os.Remove(path)
		return "", err
	}
	if err := loUp(path); err != nil {
		m.removeNetnsPath(path)
		return "", err
	}
	return path, nil
}

// mountNewNetns makes a new network namespace on a locked OS thread, bind
// mounts it on path and moves the thread back. If the thread cannot be
// moved back it stays locked, so the Go runtime discards it when the
// goroutine ends.
func (m *Manager) mountNewNetns(path string) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("opening current netns: %w", err)
			return
		}
		defer unix.Close(orig)
		m.log.Debug("unshare", "flags", "CLONE_NEWNET")
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("unsharing network namespace: %w", err)
			return
		}
		m.log.Debug("mount", "source", "/proc/thread-self/ns/net", "target", path, "flags", "MS_BIND")
		err = unix.Mount("/proc/thread-self/ns/net", path, "none", unix.MS_BIND, "")
		if err != nil {
			err = fmt.Errorf("bind mounting netns on %s: %w", path, err)
		}
		if serr := unix.Setns(orig, unix.CLONE_NEWNET); serr != nil {
			// Leave the thread locked: it dies with this goroutine.
			errc <- errors.Join(err, fmt.Errorf("returning to the host netns: %w", serr))
			return
		}
		runtime.UnlockOSThread()
		errc <- err
	}()
	return <-errc
}

// makeShared makes dir a shared mount (bind mounting it on itself first if
// it is not a mount point), as iproute2 does for /run/netns: an unmount in
// RemoveNetns then propagates to mount namespaces copied meanwhile, which
// would otherwise keep the namespace alive.
func (m *Manager) makeShared(dir string) error {
	err := unix.Mount("", dir, "none", unix.MS_SHARED|unix.MS_REC, "")
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("making %s a shared mount: %w", dir, err)
	}
	m.log.Debug("mount", "source", dir, "target", dir, "flags", "MS_BIND|MS_REC")
	if err := unix.Mount(dir, dir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind mounting %s on itself: %w", dir, err)
	}
	m.log.Debug("mount", "target", dir, "flags", "MS_SHARED|MS_REC")
	if err := unix.Mount("", dir, "none", unix.MS_SHARED|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("making %s a shared mount: %w", dir, err)
	}
	return nil
}

// loUp brings the loopback interface of the namespace at path up.
func loUp(path string) error {
	h, err := nsHandle(path)
	if err != nil {
		return err
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("finding lo in %s: %w", path, err)
	}
	if err := h.LinkSetUp(lo); err != nil {
		return fmt.Errorf("setting lo up in %s: %w", path, err)
	}
	return nil
}

// isNetns reports whether path is a mounted network namespace.
func isNetns(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Type == unix.NSFS_MAGIC
}

// nsHandle returns a netlink handle working inside the namespace at path,
// without moving any thread into it.
func nsHandle(path string) (*netlink.Handle, error) {
	ns, err := netns.GetFromPath(path)
	if err != nil {
		return nil, fmt.Errorf("opening netns %s: %w", path, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return nil, fmt.Errorf("opening netlink in netns %s: %w", path, err)
	}
	return h, nil
}

// RemoveNetns unmounts and removes a container's namespace. The namespace
// itself goes away with its last user. Removing one that does not exist is
// not an error.
func (m *Manager) RemoveNetns(containerID string) error {
	if err := checkName("container ID", containerID); err != nil {
		return err
	}
	return m.removeNetnsPath(m.NetnsPath(containerID))
}

func (m *Manager) removeNetnsPath(path string) error {
	m.log.Debug("umount", "target", path, "flags", "MNT_DETACH")
	err := unix.Unmount(path, unix.MNT_DETACH)
	if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmounting netns %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing netns %s: %w", path, err)
	}
	return nil
}
