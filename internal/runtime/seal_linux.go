package runtime

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// sealedSelf returns a sealed, in-memory copy of the running binary, to be
// executed as the container's init.
//
// Why: the init is started from this binary, and until it execve()s the
// user's program, /proc/PID/exe of a process in the container points at it.
// A process in the container that opens that link for writing could
// overwrite nook on the host (CVE-2019-5736). A memfd with write, grow and
// shrink seals cannot be changed by anyone, and it vanishes with the last
// process that holds it.
func sealedSelf() (*os.File, error) {
	self, err := os.Open("/proc/self/exe")
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
