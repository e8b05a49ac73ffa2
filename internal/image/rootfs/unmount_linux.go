package rootfs

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Mounted reports whether target is a mount point. A missing target is not
// mounted.
func Mounted(target string) (bool, error) {
	var stx unix.Statx_t
	err := unix.Statx(unix.AT_FDCWD, target, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_BASIC_STATS, &stx)
	if errors.Is(err, unix.ENOENT) {
		return false, nil
	}
	if err != nil {
		return false, &os.PathError{Op: "statx", Path: target, Err: err}
	}
	if stx.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT != 0 {
		return stx.Attributes&unix.STATX_ATTR_MOUNT_ROOT != 0, nil
	}
	// Before Linux 5.8 statx does not report mount roots.
	mps, err := mountsUnder(target)
	if err != nil {
		return false, err
	}
	abs, _ := filepath.Abs(target)
	for _, mp := range mps {
		if mp == abs {
			return true, nil
		}
	}
	return false, nil
}

// Unmount unmounts target, and anything stacked on it, retrying for a
// while when it is busy. A target that is not mounted, or missing, is not an
// error. A copied rootfs is left in place (its read-only bind, if any, is
// unmounted): it holds the container's files; Remove deletes it.
func Unmount(target string) error {
	return unmount(target)
}

func unmount(target string) error {
	// EBUSY right after a container's exit is usually the copy of the
	// mount in its dying mount namespace, released a moment later (a few
	// ms): retry soon, then less and less often, for about a second.
	delay, waited := time.Millisecond, time.Duration(0)
	for range 100 {
		m, err := Mounted(target)
		if err != nil || !m {
			return err
		}
		err = unix.Unmount(target, 0)
		switch {
		case err == nil, errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOENT):
			// EINVAL: not a mount point any more (raced with another
			// unmount); Mounted decides on the next round.
		case errors.Is(err, unix.EBUSY) && waited < time.Second:
			time.Sleep(delay)
			waited += delay
			delay = min(2*delay, 50*time.Millisecond)
		default:
			return fmt.Errorf("unmounting %s: %w", target, err)
		}
	}
	return fmt.Errorf("unmounting %s: still mounted", target)
}

// Remove unmounts target and deletes it, with the record of a copied
// rootfs. It refuses to delete anything while a mount remains at or below
// target, so that a rootfs that could not be unmounted never has its layers
// or some bind-mounted host directory deleted through it.
func Remove(target string) error {
	target, err := filepath.Abs(target)
	if err != nil {
		return err
	}
	if err := unmount(target); err != nil {
		return fmt.Errorf("removing rootfs %s: %w", target, err)
	}
	mps, err := mountsUnder(target)
	if err != nil {
		return fmt.Errorf("removing rootfs %s: %w", target, err)
	}
	if len(mps) > 0 {
		return fmt.Errorf("removing rootfs %s: %s is still mounted", target, mps[0])
	}
	if err := os.RemoveAll(target); err != nil {
		return fmt.Errorf("removing rootfs %s: %w", target, err)
	}
	if err := os.Remove(recordPath(target)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing rootfs %s: %w", target, err)
	}
	return nil
}

// mountsUnder lists the mount points at or below dir, from
// /proc/self/mountinfo (proc(5)).
func mountsUnder(dir string) ([]string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeOctal(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	return out, sc.Err()
}

// unescapeOctal undoes mountinfo's \ooo escapes (of space, tab, newline
// and backslash).
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
