package initproc

import (
	"errors"
	"fmt"
	"log/slog"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// setupConsole gives the process a terminal (process.terminal): a pty made
// inside the container, whose master goes to the console socket and whose
// slave becomes stdin, stdout, stderr and the controlling terminal.
//
// Why inside: the pty must come from the container's own devpts instance
// (runc #814), so it is made after pivot_root through /dev/ptmx, a symlink to
// /dev/pts/ptmx. The socket was connected by the runtime on the host (the
// --console-socket path is a host path) and passed in as sock. The message is
// the one runc, containerd's go-runc and conmon speak: the payload is the
// pty's name, the ancillary data (SCM_RIGHTS) the master fd.
//
// With mountConsole (the container's init) the slave is also bind-mounted
// onto /dev/console (config-linux.md, "/dev/console").
func setupConsole(sock int, p *specs.Process, mountConsole bool, log *slog.Logger) error {
	if sock < 0 {
		return errors.New("process.terminal is true but no console socket was passed")
	}
	defer unix.Close(sock)
	master, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening /dev/ptmx: %w", err)
	}
	defer unix.Close(master)
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		return fmt.Errorf("unlocking the pty: %w", err)
	}
	n, err := unix.IoctlGetUint32(master, unix.TIOCGPTN)
	if err != nil {
		return fmt.Errorf("getting the pty number: %w", err)
	}
	slavePath := fmt.Sprintf("/dev/pts/%d", n)
	slave, err := openSlave(master, slavePath)
	if err != nil {
		return err
	}
	defer unix.Close(slave)
	log.Debug("pty", "master", "/dev/ptmx", "slave", slavePath)
	if c := p.ConsoleSize; c != nil && c.Height > 0 && c.Width > 0 {
		ws := &unix.Winsize{Row: uint16(c.Height), Col: uint16(c.Width)}
		if err := unix.IoctlSetWinsize(master, unix.TIOCSWINSZ, ws); err != nil {
			return fmt.Errorf("setting the console size: %w", err)
		}
	}
	if mountConsole {
		if err := bindConsole(slavePath, log); err != nil {
			return err
		}
	}
	// The program owns its terminal even when it is not root (runc's
	// fixStdioPermissions); the group is devpts' gid= option's.
	if err := unix.Fchown(slave, int(p.User.UID), -1); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("changing the owner of %s: %w", slavePath, err)
	}
	if err := unix.Sendmsg(sock, []byte("/dev/ptmx"), unix.UnixRights(master), nil, 0); err != nil {
		return fmt.Errorf("sending the pty master to the console socket: %w", err)
	}
	log.Debug("sendmsg", "what", "pty master", "to", "console socket")
	// A session leader already, unless nsenter forked us into a pid
	// namespace (the fork is not one). TIOCSCTTY needs a session leader.
	if _, err := unix.Setsid(); err != nil && !errors.Is(err, unix.EPERM) {
		return fmt.Errorf("setsid: %w", err)
	}
	for fd := 0; fd < 3; fd++ {
		if err := unix.Dup3(slave, fd, 0); err != nil {
			return fmt.Errorf("making the pty fd %d: %w", fd, err)
		}
	}
	if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("making the pty the controlling terminal: %w", err)
	}
	return nil
}

// openSlave opens the pty's slave through the master (TIOCGPTPEER, Linux
// 4.13): no path lookup that a process in the container could race. Older
// kernels get the path.
func openSlave(master int, path string) (int, error) {
	fd, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(master), unix.TIOCGPTPEER,
		uintptr(unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC))
	if errno == 0 {
		return int(fd), nil
	}
	f, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("opening the pty slave %s: %w", path, err)
	}
	return f, nil
}

// bindConsole bind-mounts the pty slave onto /dev/console, making the
// placeholder file if the rootfs has none. We are inside the new root: no
// path resolves outside it.
func bindConsole(slavePath string, log *slog.Logger) error {
	var st unix.Stat_t
	switch err := unix.Lstat("/dev/console", &st); {
	case errors.Is(err, unix.ENOENT):
		f, err := os.OpenFile("/dev/console", os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o600)
		if err != nil {
			return fmt.Errorf("creating /dev/console: %w", err)
		}
		f.Close()
	case err != nil:
		return fmt.Errorf("checking /dev/console: %w", err)
	case st.Mode&unix.S_IFMT == unix.S_IFLNK:
		return errors.New("/dev/console is a symlink")
	}
	if err := unix.Mount(slavePath, "/dev/console", "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind-mounting %s on /dev/console: %w", slavePath, err)
	}
	log.Debug("mount", "source", slavePath, "target", "/dev/console", "flags", "MS_BIND")
	return nil
}
