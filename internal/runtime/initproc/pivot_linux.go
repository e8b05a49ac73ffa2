package initproc

import (
	"fmt"
	"log/slog"

	"golang.org/x/sys/unix"
)

// pivotRoot makes b.Rootfs the root and detaches the old root (or, when
// b.NoPivot, moves the rootfs over "/" and chroots into it).
//
// Why pivot_root and not chroot: chroot(2) only changes the process's root
// directory; the host's tree stays mounted in the namespace. A process with
// CAP_SYS_CHROOT can chroot into a subdirectory while keeping its working
// directory outside of it, then walk ".." up past the old root to the host's
// "/" and chroot there (the classic chroot escape; chroot(2), NOTES). Any fd
// or mount that still points into the host tree works too.
//
// pivot_root(2) changes the root mount of the whole mount namespace. After it
// we detach the old root with umount2(MNT_DETACH), so the host's tree is no
// longer in the namespace at all: there is nothing left to walk to, and ".."
// of the new "/" is "/" itself.
func pivotRoot(b *Bootstrap, log *slog.Logger) error {
	if b.NoPivot {
		return moveRoot(b, log)
	}
	oldroot, err := unix.Open("/", unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening the old root: %w", err)
	}
	defer unix.Close(oldroot)
	newroot, err := unix.Open(b.Rootfs, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening the new root %s: %w", b.Rootfs, err)
	}
	defer unix.Close(newroot)

	if err := unix.Fchdir(newroot); err != nil {
		return fmt.Errorf("changing to the new root %s: %w", b.Rootfs, err)
	}
	// pivot_root(".", ".") stacks the old root on top of the new one at "/",
	// which avoids needing a directory for put_old inside the (maybe
	// read-only) rootfs. See pivot_root(2), NOTES.
	log.Debug("pivot_root", "new_root", b.Rootfs, "old_root", "detached")
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root to %s: %w", b.Rootfs, err)
	}
	// Back to the old root, which is now mounted over ".": make it a slave
	// so the unmount cannot propagate to the host, then detach it.
	if err := unix.Fchdir(oldroot); err != nil {
		return fmt.Errorf("changing to the old root: %w", err)
	}
	if err := mountTraced(log, "", ".", "old root", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return err
	}
	log.Debug("umount2", "target", "old root", "flags", "MNT_DETACH")
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detaching the old root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("changing to the new root: %w", err)
	}
	return nil
}

// moveRoot is the NoPivot path for roots pivot_root(2) cannot leave, such as
// the initramfs: the rootfs mount is moved over "/" and the process chroots
// into it. This is weaker than pivotRoot: the host's mounts stay in the
// namespace underneath, reachable by the chroot escape described above, so
// the container must not keep CAP_SYS_CHROOT (runc warns the same about
// --no-pivot).
func moveRoot(b *Bootstrap, log *slog.Logger) error {
	if err := unix.Chdir(b.Rootfs); err != nil {
		return fmt.Errorf("changing to the new root %s: %w", b.Rootfs, err)
	}
	if err := mountTraced(log, b.Rootfs, "/", "/", "", unix.MS_MOVE, ""); err != nil {
		return err
	}
	log.Debug("chroot", "path", b.Rootfs)
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot to %s: %w", b.Rootfs, err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("changing to the new root: %w", err)
	}
	return nil
}
