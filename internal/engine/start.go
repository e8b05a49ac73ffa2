package engine

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/nook-containers/nook/internal/runtime"
	"github.com/nook-containers/nook/internal/runtime/cgroups"
)

// Start starts container c under a new monitor. Detached, it returns once
// the container runs. Attached (run without -d, start -a), the client's
// stdio go to the container through the monitor, and Start returns the
// container's exit code when it ends; the terminal is put in raw mode when
// the container has one.
func (e *Engine) Start(c *Container, attached bool) (int, error) {
	unlock, err := flock(filepath.Join(c.dir(e), "start.lock"), unix.LOCK_EX)
	if err != nil {
		return 125, err
	}
	defer unlock()
	if cur, err := e.load(c.ID); err != nil {
		return 125, err
	} else if cur.State.Status == StatusRunning || cur.State.Status == StatusRestarting || cur.State.Status == StatusPaused {
		if cur.State.MonitorLost {
			return 125, fmt.Errorf("container %s is running without its monitor; stop or rm -f it", c.Name)
		}
		return 0, nil
	}
	stopWarm := e.warmAttach(c)
	defer stopWarm()
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return 125, err
	}
	defer readyR.Close()
	cmd := exec.Command(e.exe, append(e.monitorArgs(attached), c.ID)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.ExtraFiles = []*os.File{readyW}
	monLog, err := os.OpenFile(filepath.Join(c.dir(e), "monitor.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		readyW.Close()
		return 125, err
	}
	defer monLog.Close()
	if attached {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	} else {
		cmd.Stdout, cmd.Stderr = monLog, monLog
	}
	var restore func()
	if attached && c.Config.Tty && c.Config.OpenStdin {
		if st, err := term.MakeRaw(int(os.Stdin.Fd())); err == nil {
			restore = func() { term.Restore(int(os.Stdin.Fd()), st) }
		}
	}
	if restore != nil {
		defer restore()
	}
	// Signals to the client go to the container (Docker's --sig-proxy);
	// window changes to the monitor, which resizes the pty.
	sigc := make(chan os.Signal, 16)
	if attached {
		signal.Notify(sigc, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH)
		defer signal.Stop(sigc)
	}
	err = cmd.Start()
	readyW.Close()
	if err != nil {
		return 125, fmt.Errorf("starting the container's monitor: %w", err)
	}
	pid, rerr := readReady(readyR)
	stopWarm()
	if !attached || rerr != nil {
		if rerr != nil {
			cmd.Wait()
			return runtime.ExitCode(rerr), rerr
		}
		cmd.Process.Release()
		return 0, nil
	}
	go func() {
		for s := range sigc {
			if s == unix.SIGWINCH {
				cmd.Process.Signal(s)
			} else {
				unix.Kill(pid, s.(unix.Signal))
			}
		}
	}()
	err = cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	if err != nil {
		return 125, err
	}
	return 0, nil
}

// warmAttach starts paying, while the monitor starts, the RCU grace period
// that the first cgroup.procs write of the container's start waits for
// (10-20 ms; see cgroups.WarmAttach): on cgroup v1, and on v2 when init
// joins its cgroup late (a memory limit), init is moved into its cgroups
// with such writes, ~20 ms after this call, by then at once. Root only: a
// rootless client may not write its own cgroup.procs.
func (e *Engine) warmAttach(c *Container) (stop func()) {
	if os.Geteuid() != 0 || (cgroups.DetectMode() == cgroups.Unified && c.Host.Memory <= 0 && c.Host.MemorySwap <= 0) {
		return func() {}
	}
	return cgroups.WarmAttach(e.log)
}
