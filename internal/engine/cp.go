package engine

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"

	"github.com/nook-containers/nook/internal/image/rootfs"
)

// Copy copies between a container and the host (`nook cp`): from the
// container when toContainer is false. Paths inside are resolved within
// the container's root (symlinks in the image cannot lead outside it): the
// live view through /proc/PID/root when it runs, else its mounted rootfs.
func (e *Engine) Copy(c *Container, inside, host string, toContainer bool) error {
	root := ""
	if isUp(&c.State) && c.State.Pid != 0 {
		root = filepath.Join("/proc", itoa(c.State.Pid), "root")
	} else {
		r, err := e.mountRootfs(c)
		if err != nil {
			return err
		}
		if c.Rootfs == "" || !c.Host.RootfsRW {
			defer e.unmountRootfs(c)
		}
		root = r
	}
	resolved, err := securejoin.SecureJoin(root, inside)
	if err != nil {
		return fmt.Errorf("resolving %s in the container: %w", inside, err)
	}
	if toContainer {
		dst := resolved
		if st, err := os.Stat(dst); err == nil && st.IsDir() {
			dst = filepath.Join(dst, filepath.Base(host))
		}
		return copyTree(host, dst)
	}
	dst := host
	if st, err := os.Stat(dst); err == nil && st.IsDir() {
		dst = filepath.Join(dst, filepath.Base(filepath.Clean("/"+inside)))
	}
	if _, err := os.Lstat(resolved); err != nil {
		return fmt.Errorf("could not find %s in container %s", inside, c.Name)
	}
	return copyTree(resolved, dst)
}

// copyTree copies src (a file, symlink or directory tree) to dst, keeping
// modes and, as root, ownership. Symlinks are copied, not followed.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if err := os.MkdirAll(target, info.Mode().Perm()); err != nil {
				return err
			}
		case info.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			os.Remove(target)
			if err := os.Symlink(link, target); err != nil {
				return err
			}
		case info.Mode().IsRegular():
			if err := copyFile(p, target, info.Mode().Perm()); err != nil {
				return err
			}
		default:
			return nil // devices, sockets, fifos: skipped
		}
		if st, ok := statOwner(info); ok {
			os.Lchown(target, st.uid, st.gid)
		}
		return nil
	})
}

func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	return errors.Join(err, out.Close())
}

// Prune removes every container that is not running, and what a create
// killed part-way left: a directory with no container.json (it is not a
// container yet), once it is a minute old so that no create is still
// filling it.
func (e *Engine) Prune() ([]string, error) {
	e.pruneHalfCreated()
	all, err := e.List()
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, c := range all {
		if isUp(&c.State) {
			continue
		}
		if err := e.Remove(c, false); err != nil {
			return removed, err
		}
		removed = append(removed, c.ID)
	}
	return removed, nil
}

// ImageInUse reports whether a container uses image id.
func (e *Engine) ImageInUse(id string) bool {
	all, _ := e.List()
	for _, c := range all {
		if c.ImageID == id {
			return true
		}
	}
	return false
}

func (e *Engine) pruneHalfCreated() {
	unlock, err := e.lock()
	if err != nil {
		return
	}
	defer unlock()
	entries, _ := os.ReadDir(filepath.Join(e.root, "containers"))
	for _, ent := range entries {
		dir := e.containerDir(ent.Name())
		if _, err := os.Stat(filepath.Join(dir, "container.json")); err == nil {
			continue
		}
		info, err := ent.Info()
		if err != nil || time.Since(info.ModTime()) < time.Minute {
			continue
		}
		if err := rootfs.Unmount(filepath.Join(dir, "bundle", "rootfs")); err != nil {
			continue
		}
		e.log.Debug("removing a half-created container", "dir", dir)
		os.RemoveAll(dir)
	}
}
