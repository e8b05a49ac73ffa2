package interop

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// pty is the master side of a pseudo-terminal whose slave is the controlling
// terminal of an engine's CLI (ctr run -t, podman run -it), as if a user sat
// at it. Everything read from the master is kept in buf.
type pty struct {
	master *os.File
	mu     sync.Mutex
	buf    strings.Builder
	closed chan struct{}
}

// openPty does what posix_openpt, grantpt, unlockpt and ptsname do.
func openPty(t *testing.T) (*pty, *os.File) {
	t.Helper()
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal("open /dev/ptmx:", err)
	}
	master := os.NewFile(uintptr(fd), "/dev/ptmx")
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		t.Fatal("unlockpt:", err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		master.Close()
		t.Fatal("ptsname:", err)
	}
	unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 80})
	slave, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		t.Fatal("open slave:", err)
	}
	p := &pty{master: master, closed: make(chan struct{})}
	go func() {
		defer close(p.closed)
		b := make([]byte, 4096)
		for {
			n, err := master.Read(b)
			p.mu.Lock()
			p.buf.Write(b[:n])
			p.mu.Unlock()
			if err != nil { // EIO once no process holds the slave
				return
			}
		}
	}()
	t.Cleanup(func() { master.Close() })
	return p, slave
}

func (p *pty) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.buf.String()
}

// waitFor waits until everything in want has been read from the terminal.
func (p *pty) waitFor(t *testing.T, timeout time.Duration, want ...string) bool {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out := p.output()
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(out, w)
		}
		if ok {
			return true
		}
		if time.Now().After(deadline) {
			t.Errorf("terminal: did not see %q within %v; read so far:\n%q", want, timeout, out)
			return false
		}
		select {
		case <-p.closed:
			if !strings.Contains(p.output(), want[len(want)-1]) {
				// one last look, then give up
				time.Sleep(50 * time.Millisecond)
			}
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// runOnPty starts cmd as a session leader whose controlling terminal is the
// pty's slave, types input once the shell's prompt appears, and returns the
// exit code and everything the terminal showed.
func runOnPty(t *testing.T, cmd *exec.Cmd, input string, want ...string) (int, string) {
	t.Helper()
	p, slave := openPty(t)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		slave.Close()
		t.Fatal(err)
	}
	slave.Close()
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	defer func() {
		select {
		case <-done:
		default:
			cmd.Process.Kill()
			<-done
		}
	}()
	// busybox sh prints "/ # " when it is interactive; typing before then
	// could race the engine switching the terminal to raw mode.
	if !p.waitFor(t, 30*time.Second, "# ") {
		return -1, p.output()
	}
	if _, err := p.master.Write([]byte(input)); err != nil {
		t.Fatal("write to the terminal:", err)
	}
	p.waitFor(t, 20*time.Second, want...)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Errorf("%s: did not exit; terminal:\n%q", strings.Join(cmd.Args, " "), p.output())
	}
	select { // drain what is left
	case <-p.closed:
	case <-time.After(2 * time.Second):
	}
	return cmd.ProcessState.ExitCode(), p.output()
}

// TestContainerdRunTTY: ctr run -t, driven from a pseudo-terminal. The runc
// shim passes --console-socket; nook-runtime makes the pty inside the
// container and sends the master over the socket; ctr relays the user's
// terminal to it in raw mode.
func TestContainerdRunTTY(t *testing.T) {
	needInterop(t)
	sock := containerd(t)
	cmd := ctrCmd(sock, "run", "--rm", "-t", "--runc-binary", runtimeBin, image, "tty1", "sh")
	t.Cleanup(func() {
		ctrCmd(sock, "task", "kill", "-s", "KILL", "tty1").Run()
		ctrCmd(sock, "task", "delete", "-f", "tty1").Run()
		ctrCmd(sock, "container", "delete", "tty1").Run()
	})
	code, out := runOnPty(t, cmd, "echo hi-$((40+2)); tty; exit 7\n", "hi-42", "/dev/pts/0")
	if code != 7 {
		t.Errorf("ctr run -t: exit %d, want 7; terminal:\n%q", code, out)
	}
	// ctr leaves OPOST on the user's terminal, so each line ends "\r\r\n"
	// (runc 1.1.5 in nook's place shows the same).
	if !regexp.MustCompile(`hi-42\r+\n/dev/pts/0\r+\n`).MatchString(out) {
		t.Errorf("ctr run -t: want hi-42, then /dev/pts/0 (the container's own pty); terminal:\n%q", out)
	}
}

// TestPodmanRunTTY: podman run -it (conmon takes the pty master over
// --console-socket), and podman exec -it into a detached container.
func TestPodmanRunTTY(t *testing.T) {
	needInterop(t)
	args := append([]string{"run", "-it", "--rm", "--network", "none"}, podmanUlimits...)
	code, out := runOnPty(t, podman(append(args, image, "sh")...),
		"echo hi-$((40+2)); tty; [ -t 0 ] && echo stdin-is-tty; exit 7\n", "hi-42", "/dev/pts/0", "stdin-is-tty")
	if code != 7 {
		t.Errorf("podman run -it: exit %d, want 7; terminal:\n%q", code, out)
	}

	name := fmt.Sprintf("nook-tty-%d", os.Getpid())
	t.Cleanup(func() { podman("rm", "-f", "-t", "0", name).Run() })
	dargs := append([]string{"run", "-d", "--name", name, "--network", "none"}, podmanUlimits...)
	must(t, podman(append(dargs, image, "sleep", "300")...))
	code, out = runOnPty(t, podman("exec", "-it", name, "sh"),
		"echo exec-$((6*7)); tty; exit 9\n", "exec-42", "/dev/pts/")
	if code != 9 {
		t.Errorf("podman exec -it: exit %d, want 9; terminal:\n%q", code, out)
	}
	must(t, podman("rm", "-f", "-t", "0", name))
}

// TestPodmanResources: --memory and --pids-limit reach the container's
// cgroup, on this machine's cgroup version (v1 on the hybrid host, v2 in the
// VM lane): read from inside (Podman mounts the cgroup files read-only), and
// from the host's side for a detached container.
func TestPodmanResources(t *testing.T) {
	needInterop(t)
	limits := []string{"--network", "none", "--memory", "64m", "--pids-limit", "50"}
	args := append(append([]string{"run", "--rm"}, limits...), podmanUlimits...)
	out := must(t, podman(append(args, image, "sh", "-c", limitsScript)...))
	checkLimits(t, "podman run", out, 50)

	name := fmt.Sprintf("nook-res-%d", os.Getpid())
	t.Cleanup(func() { podman("rm", "-f", "-t", "0", name).Run() })
	dargs := append(append([]string{"run", "-d", "--name", name}, limits...), podmanUlimits...)
	must(t, podman(append(dargs, image, "sleep", "300")...))
	pid, err := strconv.Atoi(strings.TrimSpace(must(t, podman("inspect", "--format", "{{.State.Pid}}", name))))
	if err != nil {
		t.Fatal("podman inspect pid:", err)
	}
	checkHostLimits(t, "podman run -d", pid, 50)
	must(t, podman("rm", "-f", "-t", "0", name))
}
