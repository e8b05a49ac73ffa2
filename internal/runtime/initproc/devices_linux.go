package initproc

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// defaultDevices are the nodes every container gets (config-linux.md,
// "Default Devices"); /dev/ptmx and /dev/console are handled in setupDev.
var defaultDevices = []specs.LinuxDevice{
	{Path: "/dev/null", Type: "c", Major: 1, Minor: 3},
	{Path: "/dev/zero", Type: "c", Major: 1, Minor: 5},
	{Path: "/dev/full", Type: "c", Major: 1, Minor: 7},
	{Path: "/dev/random", Type: "c", Major: 1, Minor: 8},
	{Path: "/dev/urandom", Type: "c", Major: 1, Minor: 9},
	{Path: "/dev/tty", Type: "c", Major: 5, Minor: 0},
}

// devSymlinks are the /dev links programs expect (the same set as runc,
// minus /dev/core: /proc/kcore has no business in a container).
var devSymlinks = [][2]string{
	{"/dev/fd", "/proc/self/fd"},
	{"/dev/stdin", "/proc/self/fd/0"},
	{"/dev/stdout", "/proc/self/fd/1"},
	{"/dev/stderr", "/proc/self/fd/2"},
}

// setupDev fills the container's freshly mounted /dev: the default devices,
// the spec's linux.devices, the usual symlinks, /dev/ptmx and a placeholder
// for /dev/console.
func setupDev(b *Bootstrap, log *slog.Logger, root *os.File) error {
	// Modes must come out exactly as asked, whatever init's umask is.
	old := unix.Umask(0)
	defer unix.Umask(old)

	var devices []specs.LinuxDevice
	if b.Spec.Linux != nil {
		devices = append(devices, b.Spec.Linux.Devices...)
	}
	for _, d := range defaultDevices {
		overridden := false
		for _, s := range devices {
			overridden = overridden || filepath.Clean(s.Path) == d.Path
		}
		if !overridden {
			devices = append(devices, d)
		}
	}
	for _, d := range devices {
		if err := createDevice(log, root, d, b.NewUserNS); err != nil {
			return err
		}
	}
	for _, l := range devSymlinks {
		if err := symlinkIn(log, root, l[1], l[0]); err != nil {
			return err
		}
	}

	dev, err := pathrs.OpenatInRoot(root, "/dev")
	if err != nil {
		return fmt.Errorf("opening /dev: %w", err)
	}
	defer dev.Close()
	if specMounts(b, "/dev/pts") {
		// The container's own devpts instance has its own ptmx; the one in
		// /dev must lead there (config-linux.md lists /dev/ptmx as "a
		// bind-mount or symlink of the container's /dev/pts/ptmx").
		if err := unix.Unlinkat(int(dev.Fd()), "ptmx", 0); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("removing /dev/ptmx: %w", err)
		}
		if err := symlinkIn(log, root, "pts/ptmx", "/dev/ptmx"); err != nil {
			return err
		}
	}
	// Only a placeholder: the console pty is bind-mounted over it once
	// terminal support exists.
	log.Debug("create", "path", "/dev/console", "mode", "0600")
	fd, err := unix.Openat(int(dev.Fd()), "console", unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, 0o600)
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("creating /dev/console: %w", err)
	}
	if err == nil {
		unix.Close(fd)
	}
	return nil
}

// createDevice makes one device node inside root. In a user namespace
// mknod(2) of a device is refused, so the host's node at the same path is
// bind-mounted over an empty file instead.
func createDevice(log *slog.Logger, root *os.File, d specs.LinuxDevice, userNS bool) error {
	if !filepath.IsAbs(d.Path) {
		return fmt.Errorf("device path %q is not an absolute path", d.Path)
	}
	path := filepath.Clean(d.Path)
	var ftype uint32
	switch d.Type {
	case "c", "u":
		ftype = unix.S_IFCHR
	case "b":
		ftype = unix.S_IFBLK
	case "p":
		ftype = unix.S_IFIFO
	default:
		return fmt.Errorf("creating device %s: unknown type %q", path, d.Type)
	}
	perm := uint32(0o666)
	if d.FileMode != nil {
		perm = uint32(d.FileMode.Perm())
	}
	var uid, gid int
	if d.UID != nil {
		uid = int(*d.UID)
	}
	if d.GID != nil {
		gid = int(*d.GID)
	}
	rdev := unix.Mkdev(uint32(d.Major), uint32(d.Minor))
	if ftype == unix.S_IFIFO {
		rdev = 0
	}
	if userNS && ftype != unix.S_IFIFO {
		return bindDevice(log, root, path)
	}

	dir, err := pathrs.MkdirAllHandle(root, filepath.Dir(path), 0o755)
	if err != nil {
		return fmt.Errorf("creating %s: %w", filepath.Dir(path), err)
	}
	defer dir.Close()
	dirfd, name := int(dir.Fd()), filepath.Base(path)

	log.Debug("mknod", "path", path, "type", d.Type, "major", d.Major, "minor", d.Minor,
		"mode", fmt.Sprintf("%#o", perm), "uid", uid, "gid", gid)
	err = unix.Mknodat(dirfd, name, ftype|perm, int(rdev))
	switch {
	case errors.Is(err, unix.EPERM) && ftype != unix.S_IFIFO:
		// No CAP_MKNOD (or a devices cgroup that says no): fall back to a bind.
		log.Debug("mknod refused, binding the host's node instead", "path", path)
		return bindDevice(log, root, path)
	case errors.Is(err, unix.EEXIST):
		// config-linux.md: a file already at path that does not match the
		// requested device is an error.
		var st unix.Stat_t
		if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("checking existing %s: %w", path, err)
		}
		if st.Mode&unix.S_IFMT != ftype || st.Rdev != rdev {
			return fmt.Errorf("creating device %s: a different file already exists there", path)
		}
		if err := unix.Fchmodat(dirfd, name, perm, 0); err != nil {
			return fmt.Errorf("changing the mode of %s: %w", path, err)
		}
	case err != nil:
		return fmt.Errorf("creating device %s: %w", path, err)
	}
	if err := unix.Fchownat(dirfd, name, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("changing the owner of %s: %w", path, err)
	}
	return nil
}

// bindDevice bind-mounts the host's node at path onto the same path in root.
func bindDevice(log *slog.Logger, root *os.File, path string) error {
	h, err := mountAt(root, path, true, false, true, func(target string) error {
		return mountTraced(log, path, target, path, "bind", unix.MS_BIND, "")
	})
	if err != nil {
		return err
	}
	return h.Close()
}
