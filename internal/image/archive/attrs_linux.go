package archive

import (
	"archive/tar"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// paxXattr prefixes the PAX records that carry xattrs (GNU tar, bsdtar,
// Docker and containerd all write them this way).
const paxXattr = "SCHILY.xattr."

// dirAttrs is a directory's mode and times, applied after the whole layer.
type dirAttrs struct {
	rel          string
	mode         uint32
	atime, mtime unix.Timespec
}

// attrs sets an entry's owner, xattrs, mode and times, in that order: chown
// clears setuid and setgid, so the mode comes after it. A directory's mode and
// times are remembered for finishDirs instead.
func (x *extractor) attrs(parent int, base, rel string, hdr *tar.Header) error {
	if err := x.chown(parent, base, hdr); err != nil {
		return err
	}
	if err := x.xattrs(parent, base, hdr); err != nil {
		return err
	}
	mode := uint32(hdr.Mode) & 0o7777
	atime, mtime := times(hdr)
	switch hdr.Typeflag {
	case tar.TypeDir:
		x.dirs = append(x.dirs, dirAttrs{rel: rel, mode: mode, atime: atime, mtime: mtime})
		return nil
	case tar.TypeSymlink:
		// Symlinks have no mode of their own.
	default:
		if err := chmodNoFollow(parent, base, mode); err != nil {
			return &os.PathError{Op: "chmod", Path: rel, Err: err}
		}
	}
	ts := []unix.Timespec{atime, mtime}
	if err := unix.UtimesNanoAt(parent, base, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &os.PathError{Op: "utimes", Path: rel, Err: err}
	}
	return nil
}

// chown sets the owner from the tar header. Without privilege a chown to
// another owner is skipped.
func (x *extractor) chown(parent int, base string, hdr *tar.Header) error {
	if hdr.Uid < 0 || hdr.Uid >= math.MaxUint32 || hdr.Gid < 0 || hdr.Gid >= math.MaxUint32 {
		return fmt.Errorf("invalid owner %d:%d", hdr.Uid, hdr.Gid)
	}
	err := unix.Fchownat(parent, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW)
	if err != nil && !x.privileged && (errors.Is(err, unix.EPERM) || errors.Is(err, unix.EINVAL)) {
		x.log.Debug("owner not kept: changing it needs privilege", "name", hdr.Name, "uid", hdr.Uid, "gid", hdr.Gid)
		return nil
	}
	if err != nil {
		return fmt.Errorf("changing owner to %d:%d: %w", hdr.Uid, hdr.Gid, err)
	}
	return nil
}

// xattrAllowed is the xattr policy of doc.go: user.*, security.* and POSIX
// ACLs are kept; trusted.* (which would let a layer forge overlayfs
// metadata) and anything else are not.
func xattrAllowed(name string) bool {
	return strings.HasPrefix(name, "user.") ||
		strings.HasPrefix(name, "security.") ||
		name == "system.posix_acl_access" ||
		name == "system.posix_acl_default"
}

// xattrs sets the entry's xattrs the policy allows. ENOTSUP and EPERM are
// logged once per xattr name and otherwise ignored.
func (x *extractor) xattrs(parent int, base string, hdr *tar.Header) error {
	var names []string
	for k := range hdr.PAXRecords {
		if name, ok := strings.CutPrefix(k, paxXattr); ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		if !xattrAllowed(name) {
			x.log.Debug("xattr not taken from the layer", "name", hdr.Name, "xattr", name)
			continue
		}
		// The parent is already resolved inside the layer; its /proc magic
		// link names exactly that directory, and lsetxattr does not follow
		// base.
		p := fmt.Sprintf("/proc/self/fd/%d/%s", parent, base)
		err := unix.Lsetxattr(p, name, []byte(hdr.PAXRecords[paxXattr+name]), 0)
		if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EPERM) {
			if !x.warned[name] {
				x.warned[name] = true
				x.log.Warn("xattr not kept", "name", hdr.Name, "xattr", name, "err", err)
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("setting xattr %s: %w", name, err)
		}
	}
	return nil
}

// finishDirs sets the mode and times of the layer's directories, now that
// nothing more is written into them. Each is opened again inside the root
// with O_NOFOLLOW: one that a later entry replaced by a symlink or a file, or
// removed, is skipped.
func (x *extractor) finishDirs() error {
	for _, d := range x.dirs {
		fd, err := inRoot(x.root, d.rel, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW)
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
			continue
		}
		if err != nil {
			return fmt.Errorf("layer directory %q: %w", d.rel, err)
		}
		err = unix.Fchmod(fd, d.mode)
		if err == nil {
			err = unix.UtimesNanoAt(fd, ".", []unix.Timespec{d.atime, d.mtime}, 0)
		}
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("layer directory %q: setting mode and times: %w", d.rel, err)
		}
	}
	return nil
}

// times returns the access and modification times of a header; a header
// without an access time gets its modification time for both.
func times(hdr *tar.Header) (atime, mtime unix.Timespec) {
	a := hdr.AccessTime
	if a.IsZero() {
		a = hdr.ModTime
	}
	return timespec(a), timespec(hdr.ModTime)
}

func timespec(t time.Time) unix.Timespec {
	return unix.Timespec{Sec: t.Unix(), Nsec: int64(t.Nanosecond())}
}

// chmodNoFollow changes the mode of base in parent, which this extractor
// just created and is not a symlink. fchmodat2 with AT_SYMLINK_NOFOLLOW
// (Linux 6.6) makes sure of that; older kernels only have fchmodat, which
// would follow a symlink swapped in by a concurrent writer, so base is
// checked first (a small window remains there; see doc.go).
func chmodNoFollow(parent int, base string, mode uint32) error {
	err := unix.Fchmodat(parent, base, mode, unix.AT_SYMLINK_NOFOLLOW)
	if !errors.Is(err, unix.EOPNOTSUPP) {
		return err
	}
	// EOPNOTSUPP: no fchmodat2, or base is a symlink.
	var st unix.Stat_t
	if err := unix.Fstatat(parent, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return errors.New("entry was replaced by a symlink while unpacking")
	}
	return unix.Fchmodat(parent, base, mode, 0)
}
