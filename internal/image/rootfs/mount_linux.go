package rootfs

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// ErrMounted is returned by Mount when the target is already a mount point.
var ErrMounted = errors.New("target is already a mount point")

// Options configure Mount.
type Options struct {
	// ReadOnly mounts the layers without an upper directory; upper and work
	// are ignored and may be empty.
	ReadOnly bool
	// Log receives a debug trace of every mount and the fallback decision.
	// Nil discards.
	Log *slog.Logger
	// ForceCopy copies the layers into the target as if overlayfs were
	// unavailable (tests).
	ForceCopy bool
}

// Mount prepares target as a container rootfs made of the lower layer
// directories (bottom first) and, unless o.ReadOnly, the writable upper
// directory with its overlayfs work directory (both created 0755 if
// missing, and on the same filesystem). target is created if missing. When
// overlayfs is unavailable the layers are copied into target (see the
// package documentation).
func Mount(lowers []string, upper, work, target string, o Options) error {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if len(lowers) == 0 {
		return errors.New("mounting rootfs: no layers")
	}
	abs := make([]string, len(lowers))
	for i, l := range lowers {
		a, err := checkDir(l)
		if err != nil {
			return fmt.Errorf("mounting rootfs: layer %w", err)
		}
		abs[i] = a
	}
	target, err := filepath.Abs(target)
	if err != nil {
		return fmt.Errorf("mounting rootfs: %w", err)
	}
	if err := os.MkdirAll(target, 0o755); err != nil {
		return fmt.Errorf("mounting rootfs: %w", err)
	}
	if m, err := Mounted(target); err != nil || m {
		if err == nil {
			err = ErrMounted
		}
		return fmt.Errorf("mounting rootfs on %s: %w", target, err)
	}
	if !o.ReadOnly {
		if upper, work, err = prepareUpper(upper, work); err != nil {
			return fmt.Errorf("mounting rootfs on %s: %w", target, err)
		}
	}

	if o.ForceCopy {
		return copyLayers(abs, target, o.ReadOnly, log)
	}
	if o.ReadOnly && len(abs) == 1 {
		return bindReadOnly(abs[0], target, log)
	}
	if o.ReadOnly {
		upper, work = "", ""
	}
	err = mountOverlay(abs, upper, work, target, log)
	if err == nil || !(errors.Is(err, unix.ENODEV) || errors.Is(err, unix.EINVAL)) {
		return err
	}
	if o.ReadOnly {
		if errors.Is(err, unix.ENODEV) {
			log.Info("overlayfs is not available, copying the layers", "target", target)
			return copyLayers(abs, target, true, log)
		}
		return err
	}
	// Refused: by the kernel or the upper's filesystem (copy instead), or
	// for these layers (an error)? A small overlay in a scratch dir next to
	// the upper tells them apart — probed only on failure, not on every
	// container's start.
	ok, perr := overlayWorks(work, log)
	if perr != nil {
		return fmt.Errorf("mounting rootfs on %s: %w", target, perr)
	}
	if ok {
		return err
	}
	return copyLayers(abs, target, false, log)
}

// checkDir returns the absolute form of p, which must be a directory.
func checkDir(p string) (string, error) {
	a, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("%s: %w", p, err)
	}
	fi, err := os.Stat(a)
	if pe := (*os.PathError)(nil); errors.As(err, &pe) {
		err = pe.Err // the path is already in the message
	}
	if err != nil {
		return "", fmt.Errorf("%s: %w", a, err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("%s: not a directory", a)
	}
	return a, nil
}

// prepareUpper creates upper and work and checks that overlayfs can pair
// them: it needs both on one filesystem.
func prepareUpper(upper, work string) (string, string, error) {
	if upper == "" || work == "" {
		return "", "", errors.New("a writable rootfs needs an upper and a work directory")
	}
	var st [2]unix.Stat_t
	paths := []string{upper, work}
	for i := range paths {
		a, err := filepath.Abs(paths[i])
		if err != nil {
			return "", "", err
		}
		if err := os.MkdirAll(a, 0o755); err != nil {
			return "", "", err
		}
		if err := unix.Stat(a, &st[i]); err != nil {
			return "", "", &os.PathError{Op: "stat", Path: a, Err: err}
		}
		paths[i] = a
	}
	if st[0].Dev != st[1].Dev {
		return "", "", fmt.Errorf("upper %s and work %s are on different filesystems", paths[0], paths[1])
	}
	return paths[0], paths[1], nil
}

// bindReadOnly bind-mounts src on target and makes that mount read-only,
// keeping the nosuid, nodev, noexec and atime flags src's mount has (a
// remount may not clear them in a user namespace).
func bindReadOnly(src, target string, log *slog.Logger) error {
	log.Debug("mount", "source", src, "target", target, "flags", "bind")
	if err := unix.Mount(src, target, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind-mounting %s on %s: %w", src, target, err)
	}
	var sfs unix.Statfs_t
	err := unix.Statfs(src, &sfs)
	if err == nil {
		keep := uintptr(sfs.Flags) & (unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME)
		log.Debug("mount", "target", target, "flags", "remount,bind,ro")
		err = unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|keep, "")
	}
	if err != nil {
		_ = unix.Unmount(target, unix.MNT_DETACH)
		return fmt.Errorf("making %s read-only: %w", target, err)
	}
	return nil
}
