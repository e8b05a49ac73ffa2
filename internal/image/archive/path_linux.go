package archive

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrEscape is returned for an entry name or hardlink target that climbs out
// of the layer with "..".
var ErrEscape = errors.New("path escapes the layer")

// cleanName turns a tar name into a clean slash-separated path relative to
// the layer root ("." for the root itself). A leading "/" is dropped; ".."
// may only climb back up within the name ("a/../b"), never above its top.
func cleanName(name string) (string, error) {
	if name == "" {
		return "", errors.New("empty name")
	}
	depth := 0
	for _, c := range strings.Split(name, "/") {
		switch c {
		case "", ".":
		case "..":
			depth--
			if depth < 0 {
				return "", ErrEscape
			}
		default:
			depth++
		}
	}
	rel := strings.TrimPrefix(path.Clean("/"+name), "/")
	if rel == "" {
		rel = "."
	}
	return rel, nil
}

// split returns the parent directory and last component of a clean relative
// path. The root "." has no last component and is returned as (".", ".").
func split(rel string) (dir, base string) {
	if rel == "." {
		return ".", "."
	}
	dir, base = path.Split(rel)
	if dir == "" {
		return ".", base
	}
	return strings.TrimSuffix(dir, "/"), base
}

// inRoot opens rel below root the way the doc.go rule says: every component,
// symlinks included, is resolved as if root were "/", and /proc magic links
// are refused. flags are open(2) flags; O_CLOEXEC is added.
func inRoot(root int, rel string, flags int) (int, error) {
	how := unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC),
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	for {
		fd, err := unix.Openat2(root, rel, &how)
		if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
			// EAGAIN: a concurrent rename made the kernel give up on a
			// race-free lookup; it asks to be retried (openat2(2)).
			continue
		}
		if err != nil {
			// Symlinks resolve inside the layer: one pointing at a host
			// path leads to that path in the layer, usually missing.
			return -1, &os.PathError{Op: "resolving inside the layer", Path: rel, Err: err}
		}
		return fd, nil
	}
}

// openDir returns an O_PATH handle on the directory rel inside root.
func openDir(root int, rel string) (int, error) {
	return inRoot(root, rel, unix.O_PATH|unix.O_DIRECTORY)
}

// mkdirAll returns an O_PATH handle on the directory rel inside root,
// creating missing directories (0755, owned by the caller) on the way. Each
// prefix is resolved inside root, so symlinks among the components are
// followed the same way openDir follows them.
func mkdirAll(root int, rel string) (int, error) {
	fd, err := openDir(root, rel)
	if err == nil || !errors.Is(err, unix.ENOENT) {
		return fd, err
	}
	parent, err := openDir(root, ".")
	if err != nil {
		return -1, err
	}
	prefix := "."
	for _, c := range strings.Split(rel, "/") {
		prefix = path.Join(prefix, c)
		fd, err := openDir(root, prefix)
		if errors.Is(err, unix.ENOENT) {
			if err := unix.Mkdirat(parent, c, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
				unix.Close(parent)
				return -1, &os.PathError{Op: "mkdir", Path: prefix, Err: err}
			}
			fd, err = openDir(root, prefix)
		}
		unix.Close(parent)
		if err != nil {
			return -1, err
		}
		parent = fd
	}
	return parent, nil
}

// removeAt removes name in the directory dirfd, and everything below it if it
// is a directory. Symlinks are removed, never followed. A missing name is not
// an error.
func removeAt(dirfd int, name string) error {
	err := unix.Unlinkat(dirfd, name, 0)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if !errors.Is(err, unix.EISDIR) { // Linux unlink(2) says EISDIR for a directory
		return &os.PathError{Op: "unlink", Path: name, Err: err}
	}
	if err := clearDir(dirfd, name); err != nil {
		return err
	}
	if err := unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR); err != nil && !errors.Is(err, unix.ENOENT) {
		return &os.PathError{Op: "rmdir", Path: name, Err: err}
	}
	return nil
}

// clearDir removes the contents of the directory name in dirfd, without
// following name if it is a symlink.
func clearDir(dirfd int, name string) error {
	return eachChild(dirfd, name, func(fd int, child string) error {
		return removeAt(fd, child)
	})
}

// eachChild calls fn for every entry of the directory name in dirfd (not
// followed if it is a symlink), with a descriptor of that directory.
func eachChild(dirfd int, name string, fn func(fd int, child string) error) error {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: name, Err: err}
	}
	d := os.NewFile(uintptr(fd), name)
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("reading directory %s: %w", name, err)
	}
	for _, n := range names {
		if err := fn(fd, n); err != nil {
			return err
		}
	}
	return nil
}
