package archive

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

const (
	// whiteoutPrefix marks a whiteout entry: ".wh.NAME" deletes NAME.
	whiteoutPrefix = ".wh."
	// whiteoutMeta prefixes AUFS bookkeeping names, which are not whiteouts.
	whiteoutMeta = ".wh..wh."
	// opaqueName in a directory hides what lower layers have in it.
	opaqueName = ".wh..wh..opq"
	// opaqueXattr is how overlayfs marks an opaque directory.
	opaqueXattr = "trusted.overlay.opaque"
)

// whiteout handles an entry named base (starting with ".wh.") in the
// directory dir: an opaque marker, AUFS metadata, or the whiteout of a name.
func (x *extractor) whiteout(dir, base string) error {
	if base == opaqueName {
		return x.opaque(dir)
	}
	if strings.HasPrefix(base, whiteoutMeta) {
		x.log.Debug("aufs metadata entry skipped", "dir", dir, "name", base)
		return nil
	}
	name := strings.TrimPrefix(base, whiteoutPrefix)
	if name == "" || name == "." || name == ".." {
		return fmt.Errorf("invalid whiteout name %q", base)
	}
	rel := path.Join(dir, name)
	if x.written[rel] {
		x.log.Debug("whiteout of an entry of the same layer ignored", "path", rel)
		return nil
	}
	if x.flat {
		parent, err := openDir(x.root, dir)
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
			return nil // nothing below to delete
		}
		if err != nil {
			return err
		}
		defer unix.Close(parent)
		x.log.Debug("whiteout: removing", "path", rel)
		return x.remove(parent, name)
	}
	parent, err := x.parentDir(dir)
	if err != nil {
		return err
	}
	if err := x.remove(parent, name); err != nil {
		return fmt.Errorf("replacing existing entry: %w", err)
	}
	// overlayfs reads a character device with device number 0:0 as a
	// whiteout. Since Linux 5.8 creating one needs no CAP_MKNOD.
	if err := unix.Mknodat(parent, name, unix.S_IFCHR, 0); err != nil {
		return fmt.Errorf("creating whiteout for %s: %w", rel, err)
	}
	if x.privileged {
		if err := unix.Fchownat(parent, name, 0, 0, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("creating whiteout for %s: %w", rel, err)
		}
	}
	x.log.Debug("whiteout", "path", rel)
	return nil
}

// opaque marks dir as opaque (Apply) or removes what lower layers had in it
// (ApplyFlat).
func (x *extractor) opaque(dir string) error {
	if x.flat {
		fd, err := inRoot(x.root, dir, unix.O_PATH|unix.O_DIRECTORY)
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		x.log.Debug("opaque directory: removing lower contents", "dir", dir)
		return x.clearLower(fd, ".", dir)
	}
	fd, err := mkdirAll(x.root, dir)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	// fd is resolved inside the layer; setxattr follows its magic link to
	// exactly that directory.
	if err := unix.Setxattr(fmt.Sprintf("/proc/self/fd/%d", fd), opaqueXattr, []byte("y"), 0); err != nil {
		return fmt.Errorf("marking %s opaque: %w", dir, err)
	}
	x.log.Debug("opaque directory", "dir", dir)
	return nil
}

// clearLower removes what is in the directory name of dirfd (rel inside the
// layer) except the entries this layer wrote, descending into directories it
// wrote, which may still hold entries of lower layers.
func (x *extractor) clearLower(dirfd int, name, rel string) error {
	return eachChild(dirfd, name, func(fd int, child string) error {
		crel := path.Join(rel, child)
		if !x.written[crel] {
			return x.remove(fd, child)
		}
		var st unix.Stat_t
		if err := unix.Fstatat(fd, child, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return &os.PathError{Op: "lstat", Path: crel, Err: err}
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return nil
		}
		return x.clearLower(fd, child, crel)
	})
}
