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
	return e.StartPrepared(c, attached, nil)
}

// PreparedMonitor is a container monitor started before its container
// exists, waiting to be told which container it is for.
type PreparedMonitor struct {
	cmd      *exec.Cmd
	attached bool
	// readyR is the monitor's report (readyFD); idW is where the
	// container's ID goes (pendingIDFD).
	readyR, idW *os.File
	// stopWarm ends the cgroup attach warm-up started with the monitor
	// (cgroup v1), nil if none was.
	stopWarm func()
}

// PrepareMonitor starts a monitor for a container about to be created:
// `nook run` starts it first, so that the monitor's own start-up (a Go
// program of ~17 MB: ~6 ms) passes while the client creates the container.
// Hand it to StartPrepared, or Abort it.
func (e *Engine) PrepareMonitor(attached bool) (*PreparedMonitor, error) {
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	idR, idW, err := os.Pipe()
	if err != nil {
		readyR.Close()
		readyW.Close()
		return nil, err
	}
	cmd := exec.Command(e.exe, append(e.monitorArgs(attached), PendingID)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.ExtraFiles = []*os.File{readyW, idR} // readyFD, pendingIDFD
	if attached {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	}
	// Detached, stdout and stderr are /dev/null until the monitor knows
	// its container and moves them to the container's monitor.log.
	err = cmd.Start()
	readyW.Close()
	idR.Close()
	if err != nil {
		readyR.Close()
		idW.Close()
		return nil, fmt.Errorf("starting the container's monitor: %w", err)
	}
	pm := &PreparedMonitor{cmd: cmd, attached: attached, readyR: readyR, idW: idW}
	if os.Geteuid() == 0 && cgroups.DetectMode() != cgroups.Unified {
		// On v1 every container's init is moved with cgroup.procs writes:
		// the grace period starts now (see warmAttach).
		pm.stopWarm = cgroups.WarmAttach(e.log)
	}
	return pm, nil
}

// Abort sends a prepared monitor away: told no container, it exits.
func (p *PreparedMonitor) Abort() {
	if p.stopWarm != nil {
		p.stopWarm()
	}
	p.idW.Close()
	p.readyR.Close()
	p.cmd.Wait()
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
