package runtime

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"golang.org/x/sys/unix"
)

// A process with process.terminal=true gets a pty made by the init inside
// the container (initproc.setupConsole). The master is sent over a unix
// socket as SCM_RIGHTS, the protocol of runc's --console-socket:
//
//   - with --console-socket PATH, the runtime connects to PATH (a host path:
//     the init is past pivot_root) and hands the init the connected socket;
//   - a foreground run or exec without one gets a socketpair instead, receives
//     the master itself and relays it to its own stdin and stdout (Terminal).
//
// A detached process needs a console socket: nobody would read the pty.

// consoleSockets returns the socket to pass to the init (nil without a
// terminal) and, when this process relays the terminal itself, the end that
// receives the master.
func consoleSockets(terminal bool, socketPath string, attach bool) (remote, local *os.File, err error) {
	switch {
	case !terminal && socketPath != "":
		return nil, nil, errors.New("cannot use --console-socket: process.terminal is false")
	case !terminal:
		return nil, nil, nil
	case socketPath != "":
		f, err := dialConsole(socketPath)
		return f, nil, err
	case !attach:
		return nil, nil, errors.New("cannot allocate a tty if nook-runtime will detach without --console-socket")
	}
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("making the console socket: %w", err)
	}
	return os.NewFile(uintptr(pair[1]), "console"), os.NewFile(uintptr(pair[0]), "console"), nil
}

// dialConsole connects to the --console-socket path.
func dialConsole(path string) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("making the console socket: %w", err)
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("connecting to console socket %s: %w", path, err)
	}
	return os.NewFile(uintptr(fd), "console-socket"), nil
}

// recvConsole receives the pty master the init sent on sock.
func recvConsole(sock *os.File) (*os.File, error) {
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	for {
		n, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("receiving the pty master: %w", err)
		}
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil || len(msgs) != 1 {
			return nil, fmt.Errorf("receiving the pty master: no fd in the message (%v)", err)
		}
		fds, err := unix.ParseUnixRights(&msgs[0])
		if err != nil || len(fds) != 1 {
			for _, fd := range fds {
				unix.Close(fd)
			}
			return nil, fmt.Errorf("receiving the pty master: want one fd (%v)", err)
		}
		return os.NewFile(uintptr(fds[0]), string(buf[:n])), nil
	}
}

// Terminal relays a pty master to this process's stdin and stdout, the way
// a foreground runc run or exec does: the user's terminal in raw mode (the
// container's pty does the line editing and echo), window size changes
// (SIGWINCH) passed on.
type Terminal struct {
	master *os.File
	saved  *unix.Termios // stdin's settings to restore; nil when not a tty
	winch  chan os.Signal
	done   chan struct{}
}

// AttachTerminal starts relaying master. Close undoes it.
func AttachTerminal(master *os.File) (*Terminal, error) {
	t := &Terminal{master: master, done: make(chan struct{})}
	in := int(os.Stdin.Fd())
	if tio, err := unix.IoctlGetTermios(in, unix.TCGETS); err == nil {
		saved := *tio
		makeRaw(tio)
		if err := unix.IoctlSetTermios(in, unix.TCSETS, tio); err != nil {
			return nil, fmt.Errorf("putting the terminal in raw mode: %w", err)
		}
		t.saved = &saved
		t.resize()
		t.winch = make(chan os.Signal, 1)
		signal.Notify(t.winch, unix.SIGWINCH)
		go func() {
			for range t.winch {
				t.resize()
			}
		}()
	}
	go io.Copy(master, os.Stdin)
	go func() {
		io.Copy(os.Stdout, master) // ends with EIO once every slave fd is closed
		close(t.done)
	}()
	return t, nil
}

// resize gives the pty the size of our terminal.
func (t *Terminal) resize() {
	ws, err := unix.IoctlGetWinsize(int(os.Stdin.Fd()), unix.TIOCGWINSZ)
	if err == nil {
		unix.IoctlSetWinsize(int(t.master.Fd()), unix.TIOCSWINSZ, ws)
	}
}

// Close waits (briefly) for the container's last output, then restores the
// user's terminal.
func (t *Terminal) Close() {
	select {
	case <-t.done:
	case <-time.After(time.Second):
	}
	if t.winch != nil {
		signal.Stop(t.winch)
		close(t.winch)
	}
	if t.saved != nil {
		unix.IoctlSetTermios(int(os.Stdin.Fd()), unix.TCSETS, t.saved)
	}
}

// makeRaw is cfmakeraw(3).
func makeRaw(t *unix.Termios) {
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
}

// Console returns the pty master of a container whose terminal this process
// relays itself (a foreground run without --console-socket), else nil.
func (c *Container) Console() *os.File { return c.console }

// RecvConsole receives a pty master sent over a connected --console-socket
// connection, as runc's and nook-runtime's init send it. An engine driving
// another OCI runtime binary with --console-socket uses it.
func RecvConsole(conn *os.File) (*os.File, error) { return recvConsole(conn) }
