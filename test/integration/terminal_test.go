package integration

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// console is a --console-socket served by the test, as containerd's
// go-runc or conmon serve it: accept one connection, receive the pty
// master's fd (SCM_RIGHTS) with the pty's name as the payload.
type console struct {
	path string
	l    *net.UnixListener
	got  chan consoleMaster
}

type consoleMaster struct {
	name string
	f    *os.File
	err  error
}

func newConsole(t *testing.T) *console {
	t.Helper()
	path := filepath.Join(t.TempDir(), "console.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	c := &console{path: path, l: l, got: make(chan consoleMaster, 1)}
	t.Cleanup(func() { l.Close() })
	go func() {
		conn, err := l.AcceptUnix()
		if err != nil {
			c.got <- consoleMaster{err: err}
			return
		}
		defer conn.Close()
		buf, oob := make([]byte, 4096), make([]byte, unix.CmsgSpace(4))
		n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
		if err != nil {
			c.got <- consoleMaster{err: err}
			return
		}
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil || len(msgs) != 1 {
			c.got <- consoleMaster{err: errors.New("no control message")}
			return
		}
		fds, err := unix.ParseUnixRights(&msgs[0])
		if err != nil || len(fds) != 1 {
			c.got <- consoleMaster{err: errors.New("no fd in the control message")}
			return
		}
		c.got <- consoleMaster{name: string(buf[:n]), f: os.NewFile(uintptr(fds[0]), "pty-master")}
	}()
	return c
}

// master waits for the pty master.
func (c *console) master(t *testing.T) (string, *os.File) {
	t.Helper()
	select {
	case m := <-c.got:
		if m.err != nil {
			t.Fatalf("console socket: %v", m.err)
		}
		t.Cleanup(func() { m.f.Close() })
		return m.name, m.f
	case <-time.After(30 * time.Second):
		t.Fatal("no pty master on the console socket after 30s")
	}
	return "", nil
}

// readAll reads the master until every slave fd is closed (EIO) or 30s pass.
func readAll(t *testing.T, master *os.File) string {
	t.Helper()
	done := make(chan []byte, 1)
	go func() {
		var out bytes.Buffer
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			out.Write(buf[:n])
			if err != nil {
				break
			}
		}
		done <- out.Bytes()
	}()
	select {
	case out := <-done:
		return string(out)
	case <-time.After(30 * time.Second):
		t.Fatal("pty output did not end after 30s")
	}
	return ""
}

// background starts nook-runtime --root STATE args... and returns a
// function that waits for it (60s at most) and returns its result.
func (e *env) background(args ...string) func() result {
	_, wait := e.backgroundPid(args...)
	return wait
}

// backgroundPid is background that also returns the runtime's pid.
func (e *env) backgroundPid(args ...string) (int, func() result) {
	e.t.Helper()
	cmd := exec.Command(runtimeBin, append([]string{"--root", e.root}, args...)...)
	cmd.Dir = e.bundle
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	e.t.Cleanup(func() { cmd.Process.Kill(); <-done })
	return cmd.Process.Pid, func() result {
		e.t.Helper()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
			<-done
			e.t.Fatalf("nook-runtime %s: timed out after 60s", strings.Join(args, " "))
		}
		return result{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
	}
}

// TestTerminal runs a shell on a terminal whose master goes to a console
// socket served by the test: the shell's tty is the container's first pty,
// the window size is process.consoleSize, and the exit status comes back.
func TestTerminal(t *testing.T) {
	e := newEnv(t).args("sh")
	e.spec.Process.Terminal = true
	e.spec.Process.ConsoleSize = &specs.Box{Height: 33, Width: 111}
	e.writeSpec()
	con := newConsole(t)
	wait := e.background("run", "--console-socket", con.path, e.id)
	name, master := con.master(t)
	if name != "/dev/ptmx" {
		t.Errorf("console message payload %q, want /dev/ptmx", name)
	}
	if _, err := master.Write([]byte("tty; stty size; ls -l /dev/console; echo hi-$((1+2))\nexit 7\n")); err != nil {
		t.Fatal(err)
	}
	out := readAll(t, master)
	r := wait()
	if r.code != 7 {
		t.Errorf("exit status %d, want 7: %s\npty: %q", r.code, r, out)
	}
	for _, want := range []string{"hi-3", "\n/dev/pts/0\r", "33 111", "136,   0 "} {
		if !strings.Contains(out, want) {
			t.Errorf("pty output lacks %q: %q", want, out)
		}
	}
}

// TestTerminalCreateStart: the console socket works through create and
// start too, and the pty is the controlling terminal (job control works).
func TestTerminalCreateStart(t *testing.T) {
	e := newEnv(t).args("sh", "-c", "echo sid-$(cut -d' ' -f6 /proc/$$/stat)-$$; read x; echo got-$x")
	e.spec.Process.Terminal = true
	e.writeSpec()
	con := newConsole(t)
	e.mustRT("create", "--console-socket", con.path, e.id)
	_, master := con.master(t)
	e.mustRT("start", e.id)
	master.Write([]byte("abc\n"))
	out := readAll(t, master)
	// The session id is the shell's pid: init is a session leader.
	if !strings.Contains(out, "sid-1-1") || !strings.Contains(out, "got-abc") {
		t.Errorf("pty output: %q", out)
	}
	waitStatus(t, e, "stopped")
}

// TestTerminalForeground: run without --console-socket relays the pty to
// its own stdin and stdout.
func TestTerminalForeground(t *testing.T) {
	e := newEnv(t).args("sh")
	e.spec.Process.Terminal = true
	e.writeSpec()
	r := e.rtIn([]byte("echo in-$((2+2))\nexit 5\n"), "run", e.id)
	if r.code != 5 || !strings.Contains(r.stdout, "in-4") {
		t.Errorf("%s", r)
	}
}

// TestTerminalNeedsConsoleSocket: a detached terminal needs a console
// socket, and a console socket needs a terminal.
func TestTerminalNeedsConsoleSocket(t *testing.T) {
	e := newEnv(t).args("sh")
	e.spec.Process.Terminal = true
	e.writeSpec()
	for _, args := range [][]string{{"create", e.id}, {"run", "-d", e.id}} {
		r := e.rt(args...)
		if r.code == 0 || !strings.Contains(r.stderr, "cannot allocate a tty") || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%s: %s", args[0], r)
		}
	}
	e.spec.Process.Terminal = false
	e.writeSpec()
	con := newConsole(t)
	if r := e.rt("create", "--console-socket", con.path, e.id); r.code == 0 || !strings.Contains(r.stderr, "process.terminal is false") {
		t.Errorf("console socket without a terminal: %s", r)
	}
}
