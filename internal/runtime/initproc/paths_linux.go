package initproc

import (
	"errors"
	"fmt"
	"log/slog"
	"os"

	"golang.org/x/sys/unix"
)

// These run after pivot_root, so plain paths are resolved inside the
// container: a symlink can at worst point elsewhere in the container, never
// out of it. Paths that do not exist are skipped, as in runc: a spec's
// default lists name files (/proc/kcore, /sys/firmware, ...) that not every
// kernel has.

// readonlyPath makes the container path p read-only: a recursive bind of p
// onto itself, then a read-only remount that keeps the mount's other flags.
func readonlyPath(log *slog.Logger, p string) error {
	err := mountTraced(log, p, p, p, "bind", unix.MS_BIND|unix.MS_REC, "")
	if errors.Is(err, os.ErrNotExist) {
		log.Debug("readonly path does not exist, skipped", "path", p)
		return nil
	}
	if err != nil {
		return err
	}
	return remountBind(log, p, p, unix.MS_RDONLY, 0)
}

// maskPath hides the container path p: /dev/null is bound over a file, an
// empty read-only tmpfs is mounted over a directory.
func maskPath(log *slog.Logger, p string) error {
	fi, err := os.Stat(p)
	if errors.Is(err, os.ErrNotExist) {
		log.Debug("masked path does not exist, skipped", "path", p)
		return nil
	}
	if err != nil {
		return fmt.Errorf("masking %s: %w", p, err)
	}
	if fi.IsDir() {
		return mountTraced(log, "tmpfs", p, p, "tmpfs", unix.MS_RDONLY, "")
	}
	// Without a /dev mount in the spec, /dev/null is whatever the image put
	// there; make sure it is the null device before binding it anywhere.
	var st unix.Stat_t
	if err := unix.Stat("/dev/null", &st); err != nil {
		return fmt.Errorf("masking %s: %w", p, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) {
		return fmt.Errorf("masking %s: /dev/null is not the null device", p)
	}
	return mountTraced(log, "/dev/null", p, p, "bind", unix.MS_BIND, "")
}
