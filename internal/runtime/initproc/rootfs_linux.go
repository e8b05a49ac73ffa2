package initproc

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// The container's root filesystem is built in three steps, each called by
// init on its locked OS thread:
//
//	prepareRootfs   in the new mount namespace, still seeing the host:
//	                propagation, the rootfs bind, spec mounts, /dev
//	pivotRoot       b.Rootfs becomes "/", the host's tree is detached
//	finalizeRootfs  inside the new root: read-only and masked paths,
//	                read-only "/", rootfs propagation
//
// Before pivot_root every mount destination is resolved inside the rootfs
// with securejoin and mounted through /proc/self/fd/N, so a symlink in the
// image can never point a mount at the host. After pivot_root, plain paths
// are safe: "/" is the rootfs and ".." of "/" is "/" again.

// prepareRootfs runs in the container's new mount namespace, before
// pivot_root. It keeps the container's mounts from propagating to the host,
// makes b.Rootfs a mount point, mounts the spec's mounts in order and, when
// the spec mounts /dev, fills it with device nodes.
func prepareRootfs(b *Bootstrap, log *slog.Logger) error {
	if b.Spec == nil {
		return errors.New("preparing rootfs: bootstrap has no spec")
	}
	if !filepath.IsAbs(b.Rootfs) {
		return fmt.Errorf("preparing rootfs: rootfs %q is not an absolute path", b.Rootfs)
	}
	rootfs := filepath.Clean(b.Rootfs)

	base, err := basePropagation(rootfsPropagation(b))
	if err != nil {
		return err
	}
	// The new mount namespace starts as a copy of the host's, with the same
	// peer groups: without this, every mount below would show up on the host.
	if err := mountTraced(log, "", "/", "/", "", base, ""); err != nil {
		return err
	}
	if err := parentMountPrivate(log, rootfs); err != nil {
		return err
	}
	// pivot_root(2) needs new_root to be a mount point.
	if err := mountTraced(log, rootfs, rootfs, rootfs, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return err
	}
	root, err := os.OpenFile(rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening rootfs: %w", err)
	}
	defer root.Close()

	defer closeIDMapFDs(b)
	for i, m := range b.Spec.Mounts {
		var err error
		if fd, ok := b.IDMapFDs[i]; ok {
			err = mountIDMapped(log, root, fd, m)
		} else {
			err = mountEntry(b, log, root, m)
		}
		if err != nil {
			return err
		}
	}
	if specMounts(b, "/dev") {
		if err := setupDev(b, log, root); err != nil {
			return err
		}
	}
	return nil
}

// finalizeRootfs runs after pivot_root, inside the new root. Paths are
// container paths.
func finalizeRootfs(b *Bootstrap, log *slog.Logger) error {
	if b.Spec == nil {
		return errors.New("finalizing rootfs: bootstrap has no spec")
	}
	if l := b.Spec.Linux; l != nil {
		// Read-only first, masks second: the read-only bind is recursive, so
		// a mask below a read-only path survives either way, but a mask
		// mounted first would be hidden by a non-recursive bind.
		for _, p := range l.ReadonlyPaths {
			if err := readonlyPath(log, p); err != nil {
				return err
			}
		}
		for _, p := range l.MaskedPaths {
			if err := maskPath(log, p); err != nil {
				return err
			}
		}
	}
	// A read-only /dev was mounted read-write so that device nodes could be
	// created in it (see mountEntry).
	if devReadonly(b) {
		if err := remountBind(log, "/dev", "/dev", unix.MS_RDONLY, 0); err != nil {
			return err
		}
	}
	if b.Spec.Root != nil && b.Spec.Root.Readonly {
		if err := remountBind(log, "/", "/", unix.MS_RDONLY, 0); err != nil {
			return err
		}
	}
	if p := rootfsPropagation(b); p != "" {
		flag, ok := propagationOptions[p]
		if !ok {
			return fmt.Errorf("unknown rootfsPropagation %q", p)
		}
		if err := mountTraced(log, "", "/", "/", "", flag, ""); err != nil {
			return err
		}
	}
	return nil
}

func rootfsPropagation(b *Bootstrap) string {
	if b.Spec.Linux == nil {
		return ""
	}
	return b.Spec.Linux.RootfsPropagation
}

// basePropagation is what "/" of the new mount namespace is made before any
// container mount: recursively slave by default (host mounts still reach the
// container, nothing goes back), or the recursive form of rootfsPropagation.
// "unbindable" starts as private because an unbindable rootfs could not be
// bind-mounted onto itself; finalizeRootfs makes it unbindable.
func basePropagation(p string) (uintptr, error) {
	switch p {
	case "":
		return unix.MS_SLAVE | unix.MS_REC, nil
	case "unbindable", "runbindable":
		return unix.MS_PRIVATE | unix.MS_REC, nil
	}
	flag, ok := propagationOptions[p]
	if !ok {
		return 0, fmt.Errorf("unknown rootfsPropagation %q", p)
	}
	return flag | unix.MS_REC, nil
}

// parentMountPrivate makes the mount that holds path private. pivot_root(2)
// fails with EINVAL when the parent mount of new_root is shared, and with
// rootfsPropagation "shared" it would be. mount(2) answers EINVAL for a path
// that is not a mount point, so walk up until one is.
func parentMountPrivate(log *slog.Logger, path string) error {
	for {
		err := unix.Mount("", path, "", unix.MS_PRIVATE, "")
		if err == nil {
			log.Debug("mount", "source", "", "target", path, "type", "", "flags", flagNames(unix.MS_PRIVATE), "data", "")
			return nil
		}
		if !errors.Is(err, unix.EINVAL) || path == "/" {
			return fmt.Errorf("making the parent mount of %s private: %w", path, err)
		}
		path = filepath.Dir(path)
	}
}

// specMounts reports whether the spec mounts something at dest.
func specMounts(b *Bootstrap, dest string) bool {
	for _, m := range b.Spec.Mounts {
		if filepath.Clean(m.Destination) == dest {
			return true
		}
	}
	return false
}

// devReadonly reports whether the spec asks for a read-only, non-bind /dev.
func devReadonly(b *Bootstrap) bool {
	for _, m := range b.Spec.Mounts {
		if filepath.Clean(m.Destination) != "/dev" {
			continue
		}
		o := parseMountOptions(m.Options)
		return o.flags&unix.MS_RDONLY != 0 && o.flags&unix.MS_BIND == 0 && m.Type != "bind"
	}
	return false
}

// mountTraced is mount(2) with the debug trace and a readable error. target is
// what the kernel gets (often /proc/self/fd/N); dest is the path a human
// knows it by, used in the trace and in errors.
func mountTraced(log *slog.Logger, source, target, dest, fstype string, flags uintptr, data string) error {
	log.Debug("mount", "source", source, "target", dest, "type", fstype, "flags", flagNames(flags), "data", data)
	err := unix.Mount(source, target, fstype, flags, data)
	if err == nil {
		return nil
	}
	switch {
	case flags&unix.MS_REMOUNT != 0:
		return fmt.Errorf("remounting %s with %s: %w", dest, flagNames(flags&^(unix.MS_REMOUNT|unix.MS_BIND)), err)
	case flags&unix.MS_MOVE != 0:
		return fmt.Errorf("moving mount %s to %s: %w", source, dest, err)
	case flags&(unix.MS_SHARED|unix.MS_PRIVATE|unix.MS_SLAVE|unix.MS_UNBINDABLE) != 0:
		return fmt.Errorf("setting propagation %s on %s: %w", flagNames(flags), dest, err)
	}
	what := source
	if what == "" || what == "none" {
		what = fstype
	}
	return fmt.Errorf("mounting %s on %s: %w", what, dest, err)
}

// remountBind changes the per-mount flags of the mount at target with
// MS_BIND|MS_REMOUNT. It sets set, clears clear, and keeps every other flag
// the mount already has. Keeping them matters: in a user namespace the
// nosuid, nodev, noexec, read-only and atime flags of a mount inherited from
// the host are locked, and a remount that would drop them fails with EPERM
// (mount(2), "EPERM"; mount_namespaces(7), "restrictions on mount namespaces").
func remountBind(log *slog.Logger, target, dest string, set, clear uintptr) error {
	var st unix.Statfs_t
	if err := unix.Statfs(target, &st); err != nil {
		return fmt.Errorf("reading mount flags of %s: %w", dest, err)
	}
	keep := statfsFlags(st.Flags) &^ clear
	if (set|clear)&atimeFlags != 0 {
		keep &^= atimeFlags
	}
	flags := unix.MS_BIND | unix.MS_REMOUNT | keep | set&^(unix.MS_BIND|unix.MS_REC|unix.MS_REMOUNT)
	return mountTraced(log, "", target, dest, "", flags, "")
}

// stNoSymfollow is ST_NOSYMFOLLOW (linux/statfs.h, Linux 5.10), which
// golang.org/x/sys/unix does not define.
const stNoSymfollow = 0x2000

// statfsFlags turns statfs(2) ST_* flags into the MS_* flags a bind remount
// accepts. The numbering differs above the low bits (ST_RELATIME is
// MS_BIND's value), so map them one by one.
func statfsFlags(st int64) uintptr {
	ms, _ := stToMS.translate(st)
	return ms
}

var stToMS = flagTable[int64, uintptr]{
	{unix.ST_RDONLY, unix.MS_RDONLY},
	{unix.ST_NOSUID, unix.MS_NOSUID},
	{unix.ST_NODEV, unix.MS_NODEV},
	{unix.ST_NOEXEC, unix.MS_NOEXEC},
	{unix.ST_NOATIME, unix.MS_NOATIME},
	{unix.ST_NODIRATIME, unix.MS_NODIRATIME},
	{unix.ST_RELATIME, unix.MS_RELATIME},
	{stNoSymfollow, unix.MS_NOSYMFOLLOW},
}

// flagTable pairs the bits of one flag set with their equivalents in another.
type flagTable[F, T ~int64 | ~uint64 | ~uintptr] []struct {
	from F
	to   T
}

// translate returns the equivalents of the bits of f the table knows, and
// the bits it does not.
func (t flagTable[F, T]) translate(f F) (to T, rest F) {
	rest = f
	for _, p := range t {
		if f&p.from != 0 {
			to |= p.to
			rest &^= p.from
		}
	}
	return to, rest
}
