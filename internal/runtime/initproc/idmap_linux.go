package initproc

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// mountIDMapped moves the detached idmapped mount fd (made by the runtime:
// internal/runtime/idmap_linux.go says why there) to dest inside root, then
// applies the rest of the mount's options as for any bind mount.
func mountIDMapped(log *slog.Logger, root *os.File, fd int, m specs.Mount) error {
	if !filepath.IsAbs(m.Destination) {
		return fmt.Errorf("mount destination %q is not an absolute path", m.Destination)
	}
	dest := filepath.Clean(m.Destination)
	if dest == "/" {
		return errors.New("mount destination / is the rootfs itself")
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("mounting %s on %s: reading the idmapped mount: %w", m.Source, dest, err)
	}
	o := parseMountOptions(m.Options)
	h, err := mountAt(root, dest, st.Mode&unix.S_IFMT != unix.S_IFDIR, false, true, func(target string) error {
		log.Debug("move_mount", "source", m.Source, "target", dest, "idmapped", true)
		// target is a /proc/self/fd magic link: follow it.
		err := unix.MoveMount(fd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_SYMLINKS)
		if err != nil {
			return fmt.Errorf("mounting %s on %s: moving the idmapped mount into place: %w", m.Source, dest, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer h.Close()
	o.flags |= unix.MS_BIND
	return finishMount(log, h, dest, o, true)
}

// closeIDMapFDs closes the fds of the idmapped mounts; none may reach a
// hook or the container's program.
func closeIDMapFDs(b *Bootstrap) {
	for _, fd := range b.IDMapFDs {
		unix.Close(fd)
	}
	b.IDMapFDs = nil
}
