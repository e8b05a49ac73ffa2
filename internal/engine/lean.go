package engine

import (
	"encoding/json"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nook-containers/nook/internal/monitor"
)

// LeanMonitorEnv names the lean monitor binary to hand running containers
// to (default: nook-monitor next to the nook binary); "none" keeps the
// full monitor for the container's whole life.
const LeanMonitorEnv = "NOOK_MONITOR"

// handOffGrace is how long the full monitor waits for the init to exit
// before handing over to the lean monitor.
const handOffGrace = 20 * time.Millisecond

// leanMonitor returns the lean monitor binary, or "" when there is none.
func (e *Engine) leanMonitor() string {
	exe := os.Getenv(LeanMonitorEnv)
	switch exe {
	case "none":
		return ""
	case "":
		exe = filepath.Join(filepath.Dir(e.exe), "nook-monitor")
	}
	st, err := os.Stat(exe)
	if err != nil || !st.Mode().IsRegular() || st.Mode()&0o111 == 0 {
		return ""
	}
	return exe
}

// monitorArgs are the arguments of `nook container-monitor` (without the
// container's ID): the engine's options first, so that the monitor opens
// the same engine.
//
// The command comes first, before the global flags: cmd/nook then builds
// only its own command, not all of nook's (~1 ms of every monitor start).
func (e *Engine) monitorArgs(attached bool) []string {
	args := []string{MonitorArg, "--root", e.root}
	if e.runtime != "" {
		args = append(args, "--runtime", e.runtime)
	}
	if e.level != "" {
		args = append(args, "--log-level", e.level)
	}
	if attached {
		args = append(args, "--attached")
	}
	return args
}

// handOff replaces this process (execve, same pid) with the lean monitor
// once the container runs: the full nook binary's memory — the Go
// runtime's and every linked package's heap — is then not paid for the
// container's whole life. The lean monitor stays the init's parent (and
// the child subreaper: prctl(2) keeps it across execve), inherits the
// output fds, and execs `nook container-monitor --exited=CODE` back when
// the init exits (Monitor's resume).
//
// It returns when it does not hand off: no lean monitor, the init exited
// within handOffGrace or is not ours to wait for, or the execve failed. The caller then monitors in process.
func (e *Engine) handOff(c *Container, proc *ociProcess, outR, errR *os.File, attached bool, loop restartLoop) {
	exe := e.leanMonitor()
	if exe == "" {
		return
	}
	// A container that is over at once (`run --rm IMAGE true`) is
	// cheaper to finish here than after two execs (~7 ms): give it a
	// moment. Its output waits in the pipe (or pty) meanwhile.
	if pidfd, err := unix.PidfdOpen(proc.Pid, 0); err == nil {
		for deadline := time.Now().Add(handOffGrace); ; {
			left := time.Until(deadline)
			if left <= 0 {
				break
			}
			n, err := unix.Poll([]unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}, int(left.Milliseconds())+1)
			if n != 0 || err != unix.EINTR {
				break
			}
		}
		unix.Close(pidfd)
	}
	// WNOWAIT: only look. ECHILD would mean the init is not our
	// descendant, and wait4 in the lean monitor could not see it exit.
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_PID, proc.Pid, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil); err != nil || info.Signo != 0 {
		return
	}
	maxSize, maxFile := logLimits(c.Host.LogConfig)
	loopJSON, err := json.Marshal(loop)
	if err != nil {
		return
	}
	resume := append([]string{e.exe}, e.monitorArgs(attached)...)
	resume = append(resume, "--loop="+string(loopJSON), c.ID)
	cfg := monitor.Config{
		Root: e.root, ID: c.ID, Init: proc.Pid, Stdout: -1, Stderr: -1, Console: -1,
		Attached: attached, Log: e.logPath(c), LogMaxSize: maxSize, LogMaxFile: maxFile, Resume: resume,
	}
	var inherit []int
	if proc.Console != nil {
		cfg.Console = rawFd(proc.Console)
		cfg.Winch = attached
		cfg.Stdin = attached && c.Config.OpenStdin
		inherit = []int{cfg.Console}
	} else {
		cfg.Stdout, cfg.Stderr = rawFd(outR), rawFd(errR)
		inherit = []int{cfg.Stdout, cfg.Stderr}
	}
	args, err := cfg.Args(exe)
	if err != nil {
		e.log.Warn("handing over to the lean monitor", "err", err)
		return
	}
	for _, fd := range inherit {
		unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0)
	}
	e.log.Debug("handing over to the lean monitor", "exe", exe, "args", args)
	err = syscall.Exec(exe, args, os.Environ())
	for _, fd := range inherit {
		unix.CloseOnExec(fd) // nothing we start later may inherit them
	}
	e.log.Warn("executing the lean monitor; monitoring in process", "exe", exe, "err", err)
}

// rawFd is f's descriptor, without File.Fd's side effect of making it
// blocking.
func rawFd(f *os.File) int {
	fd := -1
	if rc, err := f.SyscallConn(); err == nil {
		rc.Control(func(u uintptr) { fd = int(u) })
	}
	return fd
}
