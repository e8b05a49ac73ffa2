package runtime

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// sealedBinary returns the binary at path ("": the running one) in a form no
// one can write to, to be executed as the container's init.
//
// Why: the init is started from this binary, and until it execve()s the
// user's program, /proc/PID/exe of a process in the container points at it.
// A process in the container that opens that link for writing could
// overwrite nook on the host (CVE-2019-5736).
//
// First choice: the binary seen through a private, read-only, lower-only
// overlayfs mount that is never attached anywhere (fsopen + fsmount). A
// write open of it fails with EROFS, and unlike a read-only bind mount it
// cannot be remounted read-write to unwrap it. It copies nothing: the
// 8–17 MB copy the fallback makes was the largest single cost of starting
// a container (runc 1.2 moved to the same scheme for the same reason).
// Fallback (no overlayfs or no new mount API, or the binary was replaced on
// disk): a memfd copy with write, grow and shrink seals.
func sealedBinary(path, scratch string) (*os.File, error) {
	if path == "" {
		self, err := os.Readlink("/proc/self/exe")
		if err != nil {
			return nil, err
		}
		if strings.HasSuffix(self, " (deleted)") {
			return memfdOf("/proc/self/exe")
		}
		path = self
	}
	if f, err := overlayOf(path, scratch); err == nil {
		return f, nil
	}
	return memfdOf(path)
}

// overlayOf opens the binary at path through a lower-only overlayfs of its
// directory. scratch is an existing directory: overlayfs wants two lower
// layers to have no upper one, and the binary's directory is put on top so
// that nothing in scratch can mask the binary.
func overlayOf(path, scratch string) (*os.File, error) {
	dir, name := filepath.Split(path)
	ctx, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return nil, err
	}
	defer unix.Close(ctx)
	lower := escapeLowerDir(filepath.Clean(dir)) + ":" + escapeLowerDir(scratch)
	if err := unix.FsconfigSetString(ctx, "lowerdir", lower); err != nil {
		return nil, fmt.Errorf("overlay lowerdir=%s: %w", lower, err)
	}
	// xino is irrelevant here; off avoids a dmesg line when the two layers
	// are on different filesystems.
	_ = unix.FsconfigSetString(ctx, "xino", "off")
	if err := unix.FsconfigCreate(ctx); err != nil {
		return nil, fmt.Errorf("creating the overlay: %w", err)
	}
	mnt, err := unix.Fsmount(ctx, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOSUID)
	if err != nil {
		return nil, fmt.Errorf("fsmount of the overlay: %w", err)
	}
	defer unix.Close(mnt)
	fd, err := unix.Openat(mnt, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening %s through the overlay: %w", name, err)
	}
	return os.NewFile(uintptr(fd), "overlay:"+name), nil
}

// escapeLowerDir escapes what overlayfs's lowerdir list treats specially.
func escapeLowerDir(p string) string {
	return strings.ReplaceAll(strings.ReplaceAll(p, `\`, `\\`), `:`, `\:`)
}

// memfdOf returns a sealed in-memory copy of the binary at path. A memfd
// with write, grow and shrink seals cannot be changed by anyone, and it
// vanishes with the last process that holds it.
func memfdOf(path string) (*os.File, error) {
	self, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer self.Close()
	fd, err := unix.MemfdCreate("nook-runtime", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("creating memfd for the init binary: %w", err)
	}
	mem := os.NewFile(uintptr(fd), "memfd:nook-runtime")
	st, err := self.Stat()
	if err != nil {
		mem.Close()
		return nil, err
	}
	// sendfile copies inside the kernel; copy_file_range (io.Copy's first
	// choice) refuses to cross filesystems, and the fallback is a
	// read/write loop 32 KiB at a time.
	var n int64
	for n < st.Size() {
		w, err := unix.Sendfile(fd, int(self.Fd()), nil, int(st.Size()-n))
		if err == unix.EINTR {
			continue
		}
		if err != nil || w == 0 {
			mem.Close()
			return nil, fmt.Errorf("copying the init binary into a memfd: %d of %d bytes: %v", n, st.Size(), err)
		}
		n += int64(w)
	}
	const seals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		mem.Close()
		return nil, fmt.Errorf("sealing the init binary: %w", err)
	}
	return mem, nil
}
