package engine

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"

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
	return e.StartPrepared(c, attached, nil)
}

// StartPrepared is Start with a monitor from PrepareMonitor (or, with pm
// nil, a new one). It takes pm over: pm is aborted if c needs no start.
func (e *Engine) StartPrepared(c *Container, attached bool, pm *PreparedMonitor) (int, error) {
	abort := func() {
		if pm != nil {
			pm.Abort()
		}
	}
	if pm != nil && pm.attached != attached {
		abort()
		return 125, errors.New("internal error: the prepared monitor is attached differently")
	}
	unlock, err := flock(filepath.Join(c.dir(e), "start.lock"), unix.LOCK_EX)
	if err != nil {
		abort()
		return 125, err
	}
	defer unlock()
	if cur, err := e.load(c.ID); err != nil {
		abort()
		return 125, err
	} else if cur.State.Status == StatusRunning || cur.State.Status == StatusRestarting || cur.State.Status == StatusPaused {
		abort()
		if cur.State.MonitorLost {
			return 125, fmt.Errorf("container %s is running without its monitor; stop or rm -f it", c.Name)
		}
		return 0, nil
	}
	if pm == nil {
		if pm, err = e.PrepareMonitor(attached); err != nil {
			return 125, err
		}
	}
	stopWarm := pm.stopWarm
	if stopWarm == nil {
		stopWarm = e.warmAttach(c)
	}
	defer stopWarm()
	cmd, readyR := pm.cmd, pm.readyR
	defer readyR.Close()
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
	// The monitor learns its container: one line, then EOF.
	_, err = pm.idW.WriteString(c.ID + "\n")
	pm.idW.Close()
	if err != nil {
		cmd.Wait()
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
