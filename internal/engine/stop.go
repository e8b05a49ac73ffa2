package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nook-containers/nook/internal/image/rootfs"
	"github.com/nook-containers/nook/internal/runtime"
)

func isUp(s *State) bool {
	return s.Status == StatusRunning || s.Status == StatusPaused || s.Status == StatusRestarting
}

// Stop sends the stop signal (the image's StopSignal, else SIGTERM) and,
// after timeout, SIGKILL; the restart policy does not bring the container
// back. A stopped container is not an error.
func (e *Engine) Stop(c *Container, timeout time.Duration) error {
	if err := e.updateState(c, func(s *State) { s.StoppedByUser = true }); err != nil {
		return err
	}
	if !isUp(&c.State) {
		return nil
	}
	sig := unix.SIGTERM
	if c.Config.StopSignal != "" {
		if s, err := runtime.ParseSignal(c.Config.StopSignal); err == nil {
			sig = s
		}
	}
	if c.State.Status == StatusPaused {
		e.rt.resume(c.ID)
	}
	if c.State.Status != StatusRestarting {
		if err := e.signal(c, sig); err != nil {
			return err
		}
		if e.waitExit(c, timeout) {
			return nil
		}
		e.signal(c, unix.SIGKILL)
	}
	if !e.waitExit(c, 10*time.Second) {
		return fmt.Errorf("container %s did not stop after SIGKILL", c.Name)
	}
	return nil
}

// Kill sends sig to the container's main process.
func (e *Engine) Kill(c *Container, sig unix.Signal) error {
	if !isUp(&c.State) || c.State.Pid == 0 {
		return fmt.Errorf("cannot kill container %s: %w", c.Name, ErrNotRunning)
	}
	if sig == unix.SIGKILL || sig == unix.SIGTERM {
		e.updateState(c, func(s *State) { s.StoppedByUser = true })
	}
	return e.signal(c, sig)
}

// signal signals the container's init through the runtime, or directly
// (checking the pid is still the init) when the runtime lost it.
func (e *Engine) signal(c *Container, sig unix.Signal) error {
	err := e.rt.kill(c.ID, sig, false)
	if err == nil {
		return nil
	}
	if c.State.Pid != 0 && processAlive(c.State.Pid, c.State.PidStart) {
		return unix.Kill(c.State.Pid, sig)
	}
	if errors.Is(err, runtime.ErrNotRunning) || errors.Is(err, runtime.ErrNotFound) {
		return nil
	}
	return err
}

// waitExit waits until the container is no longer up; when its monitor is
// gone, it records the exit itself.
func (e *Engine) waitExit(c *Container, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		cur, err := e.load(c.ID)
		if err != nil {
			return true
		}
		if !isUp(&cur.State) {
			*c = *cur
			return true
		}
		if cur.State.MonitorLost && !processAlive(cur.State.Pid, cur.State.PidStart) {
			e.finishOrphan(cur)
			*c = *cur
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// finishOrphan does a dead monitor's last duties: delete the runtime's
// container, unmount, record the exit.
func (e *Engine) finishOrphan(c *Container) {
	e.rt.delete(c.ID, true)
	e.teardownNetwork(c)
	e.unmountRootfs(c)
	e.updateState(c, func(s *State) {
		if isUp(s) {
			s.Status, s.Pid, s.ExitCode = StatusExited, 0, 255
			s.FinishedAt = time.Now().UTC()
			s.MonitorPid, s.MonitorStart, s.MonitorLost = 0, 0, true
			s.Error = "monitor exited unexpectedly; exit code unknown"
		}
	})
}

// Wait blocks until the container is not running and returns its exit
// code.
func (e *Engine) Wait(c *Container) (int, error) {
	for {
		cur, err := e.load(c.ID)
		if err != nil {
			return 0, err
		}
		monitorDone := cur.State.MonitorPid == 0 || !processAlive(cur.State.MonitorPid, cur.State.MonitorStart)
		if !isUp(&cur.State) && monitorDone {
			return cur.State.ExitCode, nil
		}
		if cur.State.MonitorLost && !processAlive(cur.State.Pid, cur.State.PidStart) {
			e.finishOrphan(cur)
			return cur.State.ExitCode, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Restart stops and starts the container (detached).
func (e *Engine) Restart(c *Container, timeout time.Duration) error {
	if err := e.Stop(c, timeout); err != nil {
		return err
	}
	// Wait for the monitor to finish its bookkeeping.
	for i := 0; i < 500; i++ {
		cur, err := e.load(c.ID)
		if err != nil {
			return err
		}
		if cur.State.MonitorPid == 0 || !processAlive(cur.State.MonitorPid, cur.State.MonitorStart) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	_, err := e.Start(c, false)
	return err
}

// Pause freezes every process of the container.
func (e *Engine) Pause(c *Container) error {
	if c.State.Status != StatusRunning {
		return fmt.Errorf("container %s: %w", c.Name, ErrNotRunning)
	}
	if err := e.rt.pause(c.ID); err != nil {
		return err
	}
	return e.updateState(c, func(s *State) { s.Status = StatusPaused })
}

// Unpause thaws a paused container.
func (e *Engine) Unpause(c *Container) error {
	if c.State.Status != StatusPaused {
		return fmt.Errorf("container %s is not paused", c.Name)
	}
	if err := e.rt.resume(c.ID); err != nil {
		return err
	}
	return e.updateState(c, func(s *State) { s.Status = StatusRunning })
}

// Remove deletes a container: refused while it runs unless force, which
// kills it first. Its anonymous volumes go with it; named ones stay.
func (e *Engine) Remove(c *Container, force bool) error {
	if isUp(&c.State) {
		if !force {
			return fmt.Errorf("cannot remove container %s: %w: stop it first or use rm -f", c.Name, ErrRunning)
		}
		e.updateState(c, func(s *State) { s.StoppedByUser = true })
		if c.State.Status == StatusPaused {
			e.rt.resume(c.ID)
		}
		e.signal(c, unix.SIGKILL)
		if !e.waitExit(c, 10*time.Second) {
			return fmt.Errorf("container %s did not stop after SIGKILL", c.Name)
		}
	}
	// Let a live monitor finish (it may be removing the container itself
	// for --rm). Up to 10 s: the lean monitor re-executes nook to clean
	// up, which takes seconds on a slow (emulated) machine.
	for i := 0; i < 1000; i++ {
		cur, err := e.load(c.ID)
		if err != nil {
			return nil // removed meanwhile
		}
		if cur.State.MonitorPid == 0 || !processAlive(cur.State.MonitorPid, cur.State.MonitorStart) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return e.remove(c)
}

// remove deletes everything the container has on the host.
func (e *Engine) remove(c *Container) error {
	unlock, err := e.lock()
	if err != nil {
		return err
	}
	defer unlock()
	dir := c.dir(e)
	if _, err := os.Stat(filepath.Join(dir, "container.json")); err != nil {
		return nil
	}
	e.rt.delete(c.ID, true)
	e.teardownNetwork(c)
	target := filepath.Join(dir, "bundle", "rootfs")
	if err := rootfs.Unmount(target); err != nil {
		return fmt.Errorf("removing container %s: %w", c.Name, err)
	}
	// container.json first: a half-removed container no longer exists.
	if err := os.Remove(filepath.Join(dir, "container.json")); err != nil {
		return err
	}
	for _, m := range c.Mounts {
		if m.Type == "volume" && len(m.Name) == 64 {
			os.RemoveAll(e.volumeDir(m.Name))
		}
	}
	// A monitor that outlived the wait above may still be writing its last
	// state into the directory (ENOTEMPTY): give it a moment.
	for i := 0; ; i++ {
		err := os.RemoveAll(dir)
		if err == nil || i == 20 || !errors.Is(err, unix.ENOTEMPTY) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
