package initproc

import (
	"errors"
	"fmt"
	"log/slog"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// mountEntry mounts one spec mount inside the rootfs (root is an O_PATH
// handle of it). The destination is a container path.
func mountEntry(b *Bootstrap, log *slog.Logger, root *os.File, m specs.Mount) error {
	if !filepath.IsAbs(m.Destination) {
		return fmt.Errorf("mount destination %q is not an absolute path", m.Destination)
	}
	dest := filepath.Clean(m.Destination)
	if dest == "/" {
		return errors.New("mount destination / is the rootfs itself")
	}
	o := parseMountOptions(m.Options)
	if _, ok := IDMapOf(m); ok {
		// The runtime makes these and hands them over (IDMapFDs).
		return fmt.Errorf("mounting %s on %s: idmapped mount not prepared by the runtime", m.Source, dest)
	}
	if o.tmpcopyup {
		log.Debug("mount option tmpcopyup is not supported, ignored", "target", dest)
	}

	switch {
	case m.Type == "cgroup" || m.Type == "cgroup2":
		return mountCgroup(b, log, root, dest, o)
	case o.flags&unix.MS_BIND != 0 || m.Type == "bind":
		source := m.Source
		if !filepath.IsAbs(source) {
			source = filepath.Join(b.Bundle, source)
		}
		return mountBind(log, root, source, dest, o)
	case m.Type == "sysfs":
		err := mountFS(log, root, m.Source, dest, m.Type, o)
		if !errors.Is(err, unix.EPERM) || !b.NewUserNS {
			return err
		}
		// A user namespace that does not own the network namespace may not
		// mount sysfs (sysfs_get_tree checks the netns owner). Bind the
		// host's /sys instead, as runc does.
		log.Debug("sysfs mount refused, binding /sys instead", "target", dest)
		o.flags |= unix.MS_BIND | unix.MS_REC
		return mountBind(log, root, "/sys", dest, o)
	default:
		return mountFS(log, root, m.Source, dest, m.Type, o)
	}
}

// mountFS mounts a filesystem (proc, tmpfs, devpts, mqueue, ...) at dest.
func mountFS(log *slog.Logger, root *os.File, source, dest, fstype string, o mountOptions) error {
	flags := o.flags
	if dest == "/dev" {
		// Device nodes still have to be created in /dev; finalizeRootfs
		// makes it read-only afterwards.
		flags &^= unix.MS_RDONLY
	}
	h, err := mountAt(root, dest, false, fstype == "proc", flags&unix.MS_REMOUNT == 0, func(target string) error {
		return mountTraced(log, source, target, dest, fstype, flags, o.data)
	})
	if err != nil {
		return err
	}
	defer h.Close()
	return finishMount(log, h, dest, o, false)
}

// mountBind bind-mounts the host path source at dest. The kernel ignores all
// flags but MS_REC on the bind itself, so the rest is a second step.
func mountBind(log *slog.Logger, root *os.File, source, dest string, o mountOptions) error {
	fi, err := os.Stat(source)
	if err != nil {
		return fmt.Errorf("mounting %s on %s: %w", source, dest, err)
	}
	flags := unix.MS_BIND | o.flags&unix.MS_REC
	h, err := mountAt(root, dest, !fi.IsDir(), false, true, func(target string) error {
		return mountTraced(log, source, target, dest, "bind", flags, "")
	})
	if err != nil {
		return err
	}
	defer h.Close()
	return finishMount(log, h, dest, o, true)
}

// finishMount does what mount(2) cannot do in the call that creates a mount:
// the flags of a bind, propagation changes (one per call) and the recursive
// mount_setattr(2) attributes. h is a handle on the new mount.
func finishMount(log *slog.Logger, h *os.File, dest string, o mountOptions, bind bool) error {
	target := procPath(h)
	if bind && (o.flags&^(unix.MS_BIND|unix.MS_REC|unix.MS_REMOUNT) != 0 || o.clear != 0) {
		if err := remountBind(log, target, dest, o.flags, o.clear); err != nil {
			return err
		}
	}
	for _, p := range o.propagation {
		if err := mountTraced(log, "", target, dest, "", p, ""); err != nil {
			return err
		}
	}
	if o.attrSet|o.attrClr != 0 {
		attr := unix.MountAttr{Attr_set: o.attrSet, Attr_clr: o.attrClr}
		log.Debug("mount_setattr", "target", dest, "flags", "AT_RECURSIVE",
			"attr_set", fmt.Sprintf("%#x", o.attrSet), "attr_clr", fmt.Sprintf("%#x", o.attrClr))
		if err := unix.MountSetattr(int(h.Fd()), "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
			return fmt.Errorf("setting recursive mount attributes on %s: %w", dest, err)
		}
	}
	return nil
}

// mountCgroup mounts the container's cgroups at dest: cgroup2 on a unified
// host; on a v1 host a tmpfs with one bind per controller directory, which
// is what runc does for "cgroup" mounts.
func mountCgroup(b *Bootstrap, log *slog.Logger, root *os.File, dest string, o mountOptions) error {
	if b.Cgroup2 {
		err := mountFS(log, root, "cgroup2", dest, "cgroup2", o)
		host := b.CgroupPaths[""]
		if host == "" && b.NewUserNS {
			// A rootless container without a cgroup of its own: the
			// hierarchy it lives in, as runc binds (its user can't
			// write there).
			host = "/sys/fs/cgroup"
		}
		if err == nil || host == "" || !(errors.Is(err, unix.EPERM) || errors.Is(err, unix.EBUSY)) {
			return err
		}
		// Without a cgroup namespace of its own, a user namespace may not
		// mount cgroup2: bind the container's cgroup directory instead.
		log.Debug("cgroup2 mount refused, binding the container's cgroup instead", "target", dest, "source", host)
		o.flags |= unix.MS_BIND | unix.MS_REC
		return mountBind(log, root, host, dest, o)
	}
	if len(b.CgroupPaths) == 0 {
		log.Debug("no cgroup v1 paths, cgroup mount skipped", "target", dest)
		return nil
	}
	tmpfs := mountOptions{flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, data: "mode=755"}
	if err := mountFS(log, root, "tmpfs", dest, "tmpfs", tmpfs); err != nil {
		return err
	}
	controllers := make([]string, 0, len(b.CgroupPaths))
	for c := range b.CgroupPaths {
		if c != "" {
			controllers = append(controllers, c)
		}
	}
	slices.Sort(controllers)
	// The mount flags (ro, nosuid, ...) go on the tmpfs and every bind in
	// it with one recursive mount_setattr(2) at the end, rather than a
	// remount per bind and one for the tmpfs: 11 mount calls fewer on a
	// host with 10 hierarchies. Options mount_setattr cannot express, and
	// kernels without it (before 5.12), take the remounts.
	attrSet, attrClr, oneCall := mountAttrs(o)
	for _, c := range controllers {
		name := strings.TrimPrefix(c, "name=") // name=systemd is mounted at "systemd"
		if name == "" || strings.Contains(name, "/") || name == "." || name == ".." {
			return fmt.Errorf("mounting cgroup on %s: bad controller name %q", dest, c)
		}
		bo := o
		if oneCall {
			bo = mountOptions{}
		}
		bo.flags |= unix.MS_BIND | unix.MS_REC
		if err := mountBind(log, root, b.CgroupPaths[c], filepath.Join(dest, name), bo); err != nil {
			return err
		}
		// Co-mounted controllers ("cpu,cpuacct") are also reachable by
		// each name, as on the host.
		if strings.Contains(name, ",") {
			for _, alias := range strings.Split(name, ",") {
				if err := symlinkIn(log, root, name, filepath.Join(dest, alias)); err != nil {
					return err
				}
			}
		}
	}
	h, err := pathrs.OpenatInRoot(root, dest)
	if err != nil {
		return fmt.Errorf("opening %s: %w", dest, err)
	}
	defer h.Close()
	if oneCall {
		attr := unix.MountAttr{Attr_set: attrSet, Attr_clr: attrClr}
		log.Debug("mount_setattr", "target", dest, "flags", "AT_RECURSIVE",
			"attr_set", fmt.Sprintf("%#x", attrSet), "attr_clr", fmt.Sprintf("%#x", attrClr))
		err := unix.MountSetattr(int(h.Fd()), "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.ENOSYS) {
			return fmt.Errorf("setting mount attributes on %s: %w", dest, err)
		}
		for _, c := range controllers {
			sub := filepath.Join(dest, strings.TrimPrefix(c, "name="))
			sh, err := pathrs.OpenatInRoot(root, sub)
			if err != nil {
				return fmt.Errorf("opening %s: %w", sub, err)
			}
			err = remountBind(log, procPath(sh), sub, o.flags, o.clear)
			sh.Close()
			if err != nil {
				return err
			}
		}
	}
	if o.flags&unix.MS_RDONLY == 0 {
		return nil
	}
	return remountBind(log, procPath(h), dest, unix.MS_RDONLY, 0)
}

// mountAttrs turns a bind's MS_* flags into mount_setattr(2) attributes. ok
// is false when the options hold something mount_setattr does not set
// (propagation, recursive attributes of their own, superblock flags).
func mountAttrs(o mountOptions) (set, clr uint64, ok bool) {
	if len(o.propagation) != 0 || o.attrSet|o.attrClr != 0 || o.idmap {
		return 0, 0, false
	}
	set, rest := msToAttr.translate(o.flags &^ (unix.MS_BIND | unix.MS_REC))
	clr, clearRest := msToAttr.translate(o.clear)
	// The access-time mode is one field: setting it clears the others.
	const atimeModes = unix.MS_RELATIME | unix.MS_NOATIME | unix.MS_STRICTATIME
	if modes := rest & atimeModes; modes != 0 {
		if bits.OnesCount64(uint64(modes)) > 1 {
			return 0, 0, false // two modes asked for
		}
		atime, _ := msToATime.translate(modes)
		set |= atime
		clr |= unix.MOUNT_ATTR__ATIME
		rest &^= modes
	}
	if rest != 0 || clearRest != 0 {
		return 0, 0, false
	}
	return set, clr, true
}

var msToAttr = flagTable[uintptr, uint64]{
	{unix.MS_RDONLY, unix.MOUNT_ATTR_RDONLY},
	{unix.MS_NOSUID, unix.MOUNT_ATTR_NOSUID},
	{unix.MS_NODEV, unix.MOUNT_ATTR_NODEV},
	{unix.MS_NOEXEC, unix.MOUNT_ATTR_NOEXEC},
	{unix.MS_NODIRATIME, unix.MOUNT_ATTR_NODIRATIME},
	{unix.MS_NOSYMFOLLOW, unix.MOUNT_ATTR_NOSYMFOLLOW},
}

// msToATime: MOUNT_ATTR_RELATIME is 0, the field's default.
var msToATime = flagTable[uintptr, uint64]{
	{unix.MS_RELATIME, unix.MOUNT_ATTR_RELATIME},
	{unix.MS_NOATIME, unix.MOUNT_ATTR_NOATIME},
	{unix.MS_STRICTATIME, unix.MOUNT_ATTR_STRICTATIME},
}

// mountAt resolves dest inside root, creating it when missing (a directory,
// or an empty file when file is set), and hands do the /proc/self/fd path of
// that handle. Mounting through the handle instead of a path string leaves
// no window for a symlink swapped in after the check (CVE-2021-30465).
// When isNew is set, the mount must be new at dest: the returned handle is a
// fresh lookup of dest and is checked to be on a different mount than before.
// inProc allows a destination inside procfs.
func mountAt(root *os.File, dest string, file, inProc, isNew bool, do func(target string) error) (*os.File, error) {
	h, err := openDest(root, dest, file)
	if err != nil {
		return nil, fmt.Errorf("creating mount destination %s: %w", dest, err)
	}
	defer h.Close()
	if !inProc {
		if err := checkProcDest(h, dest); err != nil {
			return nil, err
		}
	}
	if err := do(procPath(h)); err != nil {
		return nil, err
	}
	after, err := pathrs.OpenatInRoot(root, dest)
	if err != nil {
		return nil, fmt.Errorf("opening %s after mounting: %w", dest, err)
	}
	if !isNew {
		return after, nil
	}
	before, errB := mountID(h)
	now, errA := mountID(after)
	if err := errors.Join(errB, errA); err != nil {
		after.Close()
		return nil, fmt.Errorf("checking the mount on %s: %w", dest, err)
	}
	if before == now {
		after.Close()
		return nil, fmt.Errorf("checking the mount on %s: %s no longer leads to the new mount", dest, dest)
	}
	return after, nil
}

// openDest returns an O_PATH handle of dest resolved inside root, creating
// it when missing.
func openDest(root *os.File, dest string, file bool) (*os.File, error) {
	h, err := pathrs.OpenatInRoot(root, dest)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return h, err
	}
	if !file {
		return pathrs.MkdirAllHandle(root, dest, 0o755)
	}
	dir, err := pathrs.MkdirAllHandle(root, filepath.Dir(dest), 0o755)
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	fd, err := unix.Openat(int(dir.Fd()), filepath.Base(dest), unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, 0o644)
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, err
	}
	if err == nil {
		unix.Close(fd)
	}
	return pathrs.OpenatInRoot(root, dest)
}

// procAllowed are the paths in procfs a mount may cover: files that tools
// like lxcfs emulate per container. Mounting over anything else in /proc
// could hide a security-relevant file (runc's checkProcMount, CVE-2019-19921).
var procAllowed = []string{
	"/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat", "/proc/swaps",
	"/proc/uptime", "/proc/loadavg", "/proc/slabinfo", "/proc/net/dev",
	"/proc/pressure/cpu", "/proc/pressure/io", "/proc/pressure/memory",
	"/proc/sys/kernel/ns_last_pid",
}

// checkProcDest refuses a destination that resolved into a procfs unless it
// is one of procAllowed.
func checkProcDest(h *os.File, dest string) error {
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(h.Fd()), &st); err != nil {
		return fmt.Errorf("checking mount destination %s: %w", dest, err)
	}
	if st.Type != unix.PROC_SUPER_MAGIC || slices.Contains(procAllowed, dest) {
		return nil
	}
	return fmt.Errorf("mount destination %s is inside procfs", dest)
}

// symlinkIn creates the symlink path -> target inside root; an existing
// entry is left alone.
func symlinkIn(log *slog.Logger, root *os.File, target, path string) error {
	dir, err := pathrs.MkdirAllHandle(root, filepath.Dir(path), 0o755)
	if err != nil {
		return fmt.Errorf("creating %s: %w", filepath.Dir(path), err)
	}
	defer dir.Close()
	log.Debug("symlink", "path", path, "target", target)
	if err := unix.Symlinkat(target, int(dir.Fd()), filepath.Base(path)); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("creating symlink %s: %w", path, err)
	}
	return nil
}

func mountID(f *os.File) (uint64, error) {
	var stx unix.Statx_t
	err := unix.Statx(int(f.Fd()), "", unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID, &stx)
	return stx.Mnt_id, err
}

// procPath is the magic link through which mount(2) reaches what f holds.
func procPath(f *os.File) string {
	return "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
}
