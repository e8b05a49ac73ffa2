package engine

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nook-containers/nook/internal/runtime"
)

// externalRuntime drives an OCI runtime binary with runc's command line
// (runc, crun, nook-runtime): Podman's --runtime. Its state lives under
// root, apart from nook's own.
type externalRuntime struct {
	bin  string
	root string
	log  *slog.Logger
}

// run runs one runtime command with the given stdio and returns its error
// as the runtime reported it in its JSON log (runc's last "error" line).
func (x *externalRuntime) run(io stdio, args ...string) (*exec.Cmd, error) {
	logf, err := os.CreateTemp("", "nook-runtime-log-")
	if err != nil {
		return nil, err
	}
	defer os.Remove(logf.Name())
	defer logf.Close()
	full := append([]string{"--root", x.root, "--log", logf.Name(), "--log-format", "json"}, args...)
	cmd := exec.Command(x.bin, full...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = io[0], io[1], io[2]
	var stderr bytes.Buffer
	if io[2] == nil {
		cmd.Stderr = &stderr
	}
	x.log.Debug("runtime", "argv", strings.Join(append([]string{x.bin}, full...), " "))
	if err := cmd.Run(); err != nil {
		msg := lastLogError(logf)
		if msg == "" {
			msg = strings.TrimSpace(stderr.String())
		}
		if msg == "" {
			msg = err.Error()
		}
		return cmd, &runtime.ExitError{Code: execErrorCode(msg), Err: fmt.Errorf("%s %s: %s", filepath.Base(x.bin), args[0], msg)}
	}
	return cmd, nil
}

// lastLogError returns the msg of the last error-level line of a runc JSON
// log, the way containerd's shim reads it.
func lastLogError(f *os.File) string {
	f.Seek(0, 0)
	var msg string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l struct{ Level, Msg string }
		if json.Unmarshal(sc.Bytes(), &l) == nil && (l.Level == "error" || l.Level == "fatal") {
			msg = l.Msg
		}
	}
	return msg
}

// execErrorCode maps a runtime's "cannot run the program" message to
// Docker's exit codes.
func execErrorCode(msg string) int {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "executable file not found"), strings.Contains(m, "no such file or directory"):
		return 127
	case strings.Contains(m, "permission denied"):
		return 126
	}
	return 125
}

func (x *externalRuntime) create(id, bundle string, _ *specs.Spec, io stdio, tty bool) (*ociProcess, error) {
	pidFile := filepath.Join(bundle, "init.pid")
	os.Remove(pidFile)
	args := []string{"create", "--bundle", bundle, "--pid-file", pidFile}
	var console chan consoleResult
	if tty {
		sock, ch, err := listenConsole()
		if err != nil {
			return nil, err
		}
		defer os.Remove(sock)
		console = ch
		args = append(args, "--console-socket", sock)
	}
	if _, err := x.run(io, append(args, id)...); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(pidFile)
	pid, perr := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || perr != nil {
		x.delete(id, true)
		return nil, fmt.Errorf("reading the runtime's pid file: %v", errors.Join(err, perr))
	}
	p := &ociProcess{Pid: pid, wait: func() (int, error) { return waitPid(pid) }}
	if console != nil {
		r := <-console
		if r.err != nil {
			x.delete(id, true)
			return nil, r.err
		}
		p.Console = r.master
	}
	return p, nil
}

type consoleResult struct {
	master *os.File
	err    error
}

// listenConsole makes a --console-socket and receives one pty master on it.
func listenConsole() (string, chan consoleResult, error) {
	path := filepath.Join(os.TempDir(), "nook-console-"+randomID()[:16]+".sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return "", nil, fmt.Errorf("making the console socket: %w", err)
	}
	ch := make(chan consoleResult, 1)
	go func() {
		defer l.Close()
		conn, err := l.AcceptUnix()
		if err != nil {
			ch <- consoleResult{err: err}
			return
		}
		defer conn.Close()
		f, err := conn.File()
		if err != nil {
			ch <- consoleResult{err: err}
			return
		}
		defer f.Close()
		m, err := runtime.RecvConsole(f)
		ch <- consoleResult{master: m, err: err}
	}()
	return path, ch, nil
}

// waitPid reaps pid, which must be our child or (being a subreaper) our
// orphaned descendant.
func waitPid(pid int) (int, error) {
	var ws syscall.WaitStatus
	for {
		_, err := syscall.Wait4(pid, &ws, 0, nil)
		if err == nil {
			break
		}
		if err != syscall.EINTR {
			return 0, fmt.Errorf("waiting for %d: %w", pid, err)
		}
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ws.ExitStatus(), nil
}

func (x *externalRuntime) start(id string) error {
	_, err := x.run(stdio{}, "start", id)
	return err
}

func (x *externalRuntime) kill(id string, sig unix.Signal, all bool) error {
	args := []string{"kill"}
	if all {
		args = append(args, "--all")
	}
	_, err := x.run(stdio{}, append(args, id, strconv.Itoa(int(sig)))...)
	return err
}

func (x *externalRuntime) delete(id string, force bool) error {
	args := []string{"delete"}
	if force {
		args = append(args, "--force")
	}
	_, err := x.run(stdio{}, append(args, id)...)
	if err != nil && strings.Contains(err.Error(), "does not exist") {
		return nil
	}
	return err
}

func (x *externalRuntime) pause(id string) error  { _, err := x.run(stdio{}, "pause", id); return err }
func (x *externalRuntime) resume(id string) error { _, err := x.run(stdio{}, "resume", id); return err }

func (x *externalRuntime) pids(id string) ([]int, error) {
	out, err := exec.Command(x.bin, "--root", x.root, "ps", "--format", "json", id).Output()
	if err != nil {
		return nil, fmt.Errorf("%s ps: %w", filepath.Base(x.bin), err)
	}
	var pids []int
	return pids, json.Unmarshal(out, &pids)
}

// exec runs `RUNTIME exec --process FILE`: in the foreground the runtime
// relays the terminal and exits with the process's status.
func (x *externalRuntime) exec(id string, p *specs.Process, io stdio, detach bool) (*ociProcess, error) {
	f, err := os.CreateTemp("", "nook-process-*.json")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	if err := json.NewEncoder(f).Encode(p); err != nil {
		f.Close()
		return nil, err
	}
	f.Close()
	args := []string{"exec", "--process", f.Name()}
	if detach {
		pidFile := f.Name() + ".pid"
		defer os.Remove(pidFile)
		if _, err := x.run(io, append(args, "--detach", "--pid-file", pidFile, id)...); err != nil {
			return nil, err
		}
		data, _ := os.ReadFile(pidFile)
		pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
		return &ociProcess{Pid: pid, wait: func() (int, error) { return 0, nil }}, nil
	}
	cmd := exec.Command(x.bin, append([]string{"--root", x.root}, append(args, id)...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = orStd(io[0], os.Stdin), orStd(io[1], os.Stdout), orStd(io[2], os.Stderr)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &ociProcess{Pid: cmd.Process.Pid, wait: func() (int, error) {
		err := cmd.Wait()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), nil
		}
		return 0, err
	}}, nil
}

func orStd(f, def *os.File) *os.File {
	if f != nil {
		return f
	}
	return def
}
