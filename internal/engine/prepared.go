package engine

// A monitor started before its container exists: the client's side
// (PrepareMonitor, Abort; StartPrepared hands it the container) and the
// monitor's (PendingContainer).

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/nook-containers/nook/internal/runtime"
	"github.com/nook-containers/nook/internal/runtime/cgroups"
)

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

// PendingID, in place of a container's ID, starts a prepared monitor (see
// PrepareMonitor): it reads the ID from pendingIDFD, a pipe from whoever
// started it, one line; EOF without one means that no container comes.
const (
	PendingID   = "-"
	pendingIDFD = 4
)

// PendingContainer reads a prepared monitor's container ID; "" (and no
// error) when none comes. Detached, the monitor's output goes to the
// container's monitor.log from then on, where a monitor started for a
// known container has it from the start.
func (e *Engine) PendingContainer(attached bool) (string, error) {
	f := os.NewFile(pendingIDFD, "pending-id")
	data, err := io.ReadAll(io.LimitReader(f, 256))
	f.Close()
	if err != nil {
		return "", fmt.Errorf("reading the container's ID: %w", err)
	}
	id := strings.TrimSpace(string(data))
	if id == "" {
		return "", nil
	}
	if err := runtime.ValidateID(id); err != nil {
		return "", fmt.Errorf("reading the container's ID: %w", err)
	}
	if !attached {
		out, err := os.OpenFile(filepath.Join(e.containerDir(id), "monitor.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
		if err != nil {
			return "", err
		}
		unix.Dup3(int(out.Fd()), 1, 0)
		unix.Dup3(int(out.Fd()), 2, 0)
		out.Close()
	}
	return id, nil
}
