package runtime

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nook-containers/nook/internal/runtime/cgroups"
	"github.com/nook-containers/nook/internal/runtime/hooks"
)

// Start lets a created container's init execve the program: opening
// exec.fifo for reading unblocks init's open for writing; the byte it then
// writes tells us it got past that point.
func (c *Container) Start(log *slog.Logger) error {
	switch c.State.Status {
	case specs.StateCreated:
	case specs.StateRunning:
		return errors.New("cannot start an already running container")
	case specs.StateStopped:
		return errors.New("cannot start a container that has stopped")
	default:
		return fmt.Errorf("cannot start a container in the %s state", c.State.Status)
	}
	fifo := filepath.Join(c.dir, fifoName)
	fd, err := unix.Open(fifo, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening exec fifo: %w", err)
	}
	defer unix.Close(fd)
	// Init writes one byte, then keeps its end open until execve closes it
	// (close-on-exec): as with runc, start returns once the program runs,
	// so that a signal sent right after start reaches the program, not
	// init.
	buf := make([]byte, 1)
	started := false
	for {
		n, err := unix.Read(fd, buf)
		if n == 1 {
			started = true
			continue
		}
		if n == 0 && err == nil && started {
			break // EOF: execve, or init failed and exited (it reports on the container's stderr)
		}
		if err != nil && err != unix.EAGAIN && err != unix.EINTR {
			return fmt.Errorf("reading exec fifo: %w", err)
		}
		// No byte yet: init is between its open and its write, or has not
		// reached the open. Wait, but not for a dead init.
		if !processAlive(c.State.Pid, c.State.StartTime) {
			if started {
				break
			}
			return errors.New("container init exited before start")
		}
		unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 10)
	}
	if err := os.Remove(fifo); err != nil {
		return fmt.Errorf("removing exec fifo: %w", err)
	}
	c.State.Status = specs.StateRunning
	if c.State.Hooks != nil {
		hooks.RunAll("poststart", c.State.Hooks.Poststart, &c.State.State, log)
	}
	return nil
}

// Kill sends sig to the container's init, or with all to every process in
// its cgroup.
func (c *Container) Kill(sig unix.Signal, all bool, log *slog.Logger) error {
	if all {
		// As runc: whatever is left in the cgroup gets the signal, even
		// once init has exited (a container sharing the host's pid
		// namespace can leave processes behind).
		return c.signalAll(sig, log)
	}
	if c.State.Status != specs.StateCreated && c.State.Status != specs.StateRunning && c.State.Status != StatePaused {
		return ErrNotRunning
	}
	return signalPid(c.State.Pid, c.State.StartTime, sig)
}

// signalPid signals pid through a pidfd, after checking that the pidfd's
// process is still the one that started at startTime: a recycled pid never
// gets the signal.
func signalPid(pid int, startTime uint64, sig unix.Signal) error {
	pfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			return ErrNotRunning
		}
		return fmt.Errorf("opening pidfd of %d: %w", pid, err)
	}
	defer unix.Close(pfd)
	if !processAlive(pid, startTime) {
		return ErrNotRunning
	}
	if err := unix.PidfdSendSignal(pfd, sig, nil, 0); err != nil {
		if errors.Is(err, unix.ESRCH) {
			return ErrNotRunning
		}
		return fmt.Errorf("signalling %d: %w", pid, err)
	}
	return nil
}

func (c *Container) signalAll(sig unix.Signal, log *slog.Logger) error {
	cg, err := c.cgroup(log)
	if err != nil {
		return err
	}
	pids, err := cg.Pids()
	if err != nil {
		return err
	}
	for _, pid := range pids {
		if err := unix.Kill(pid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("signalling %d: %w", pid, err)
		}
	}
	return nil
}

// Delete removes a stopped container; with force it kills a running one
// first. Created containers (init waiting for start) are killed without
// force, like runc. Nothing is left: processes, cgroup, state dir.
func (c *Container) Delete(force bool, log *slog.Logger) error {
	if (c.State.Status == specs.StateRunning || c.State.Status == StatePaused) && !force {
		return fmt.Errorf("cannot delete container %s that is not stopped: %w", c.ID, ErrRunning)
	}
	cg, err := c.cgroup(log)
	if err != nil {
		return err
	}
	if c.State.Status != specs.StateStopped && c.State.Pid != 0 {
		if err := signalPid(c.State.Pid, c.State.StartTime, unix.SIGKILL); err != nil && !errors.Is(err, ErrNotRunning) {
			return err
		}
	}
	if c.State.Status == StatePaused {
		// A frozen process cannot act on SIGKILL (cgroup v1) until thawed.
		if err := cg.Freeze(false); err != nil {
			return err
		}
	}
	// Without a pid namespace of its own, the init's death does not take the
	// rest with it: kill whatever is left in the cgroup.
	if err := c.killCgroup(cg, log); err != nil {
		return err
	}
	if c.init != nil && c.init.Process.Pid == c.State.Pid {
		c.init.Wait()
	}
	if err := waitGone(c.State.Pid, c.State.StartTime); err != nil {
		return err
	}
	if err := cg.Destroy(); err != nil {
		return err
	}
	if err := os.RemoveAll(c.dir); err != nil {
		return fmt.Errorf("removing state dir: %w", err)
	}
	log.Debug("deleted", "id", c.ID)
	if c.State.Hooks != nil {
		st := c.State.State
		st.Status = specs.StateStopped
		hooks.RunAll("poststop", c.State.Hooks.Poststop, &st, log)
	}
	return nil
}

func (c *Container) killCgroup(cg cgroups.Manager, log *slog.Logger) error {
	for i := 0; i < 100; i++ {
		pids, err := cg.Pids()
		if err != nil || len(pids) == 0 {
			return nil // a missing cgroup has nothing in it
		}
		for _, pid := range pids {
			unix.Kill(pid, unix.SIGKILL)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return errors.New("processes in the container's cgroup survive SIGKILL")
}

// waitGone waits for a killed init to die. It is not our child (create has
// exited), so its death is observed through /proc.
func waitGone(pid int, startTime uint64) error {
	if pid == 0 {
		return nil
	}
	for i := 0; i < 500; i++ {
		if !processAlive(pid, startTime) {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("container init %d is still alive 5s after SIGKILL", pid)
}

// Wait reaps an init this process started (run in the foreground) and
// returns the program's exit status, 128+N when killed by signal N.
func (c *Container) Wait() (int, error) {
	if c.init == nil {
		return 0, errors.New("container was not started by this process")
	}
	var ws syscall.WaitStatus
	if c.init.Process.Pid == c.State.Pid {
		err := c.init.Wait()
		var ok bool
		if ws, ok = c.init.ProcessState.Sys().(syscall.WaitStatus); !ok {
			return 0, err
		}
	} else {
		// nsenter's fork made the init our grandchild; run made this
		// process a child subreaper, so the init is ours to reap now.
		for {
			_, err := syscall.Wait4(c.State.Pid, &ws, 0, nil)
			if err == nil {
				break
			}
			if err != syscall.EINTR {
				return 0, fmt.Errorf("waiting for container init: %w", err)
			}
		}
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ws.ExitStatus(), nil
}

// Pid returns the init's pid.
func (c *Container) Pid() int { return c.State.Pid }

// ParseSignal reads "KILL", "SIGKILL", "kill" or "9".
func ParseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("invalid signal %q", s)
		}
		return unix.Signal(n), nil
	}
	name := "SIG" + trimSIG(s)
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}

func trimSIG(s string) string {
	b := []byte(s)
	for i := range b {
		if b[i] >= 'a' && b[i] <= 'z' {
			b[i] -= 'a' - 'A'
		}
	}
	s = string(b)
	if len(s) > 3 && s[:3] == "SIG" {
		return s[3:]
	}
	return s
}
