package engine

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nook-containers/nook/internal/image/rootfs"
	"github.com/nook-containers/nook/internal/jsonlog"
	"github.com/nook-containers/nook/internal/runtime"
	"github.com/nook-containers/nook/internal/runtime/cgroups"
)

// MonitorArg is the hidden command the engine re-executes itself as, one
// monitor per container: `nook container-monitor ID`.
const MonitorArg = "container-monitor"

// readyFD is the monitor's fd 3: a pipe to whoever started it, closed
// once the container runs (or failed to).
const readyFD = 3

// Resume is where `nook container-monitor --exited=CODE` picks up after
// the lean monitor (internal/monitor) saw the container's init exit.
type Resume struct {
	Code int
	Err  string // waiting for the init failed
	// Loop is the restart loop's state when the container started, as
	// handed to the lean monitor (restartLoop, JSON).
	Loop string
}

// restartLoop is the restart policy's state across runs, kept through the
// lean monitor's execs.
type restartLoop struct {
	Run     int           `json:"run"`
	Began   time.Time     `json:"began"`
	Backoff time.Duration `json:"backoff"`
}

// Monitor is the body of `nook container-monitor ID`: it starts the
// container, holds its stdio (writing the log, relaying to an attached
// client), records how it ended, applies the restart policy, removes it
// when --rm, and returns the exit code the monitor process exits with.
// Once the container runs it hands over to the lean monitor when there is
// one (lean.go), which execs back with resume set when the container has
// exited.
//
// Preconditions: the process runs in its own session; fd 3 is the ready
// pipe (unless resuming); when attached, fds 0-2 are the client's.
func (e *Engine) Monitor(id string, attached bool, resume *Resume) int {
	var ready *os.File
	if resume == nil {
		// Not inherited by what the monitor starts (the container, a DNS
		// server): the starter waits for EOF on it.
		unix.CloseOnExec(readyFD)
		ready = os.NewFile(readyFD, "ready")
	}
	// The init may be our grandchild (nsenter forks into its pid
	// namespace; external runtimes fork and exit): be the reaper.
	unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	// Caught, not ignored: ignored signals would be inherited by the
	// container's processes.
	signal.Notify(make(chan os.Signal, 1), unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGPIPE, unix.SIGTTOU, unix.SIGTTIN)
	c, err := e.load(id)
	if err != nil {
		reportReady(ready, 125, err)
		if resume != nil {
			return resume.Code
		}
		return 125
	}
	if resume == nil {
		startTime, _ := runtime.ProcessStartTime(os.Getpid())
		e.updateState(c, func(s *State) {
			s.MonitorPid, s.MonitorStart, s.MonitorLost = os.Getpid(), startTime, false
			s.StoppedByUser = false
		})
	}
	log, err := openLog(e.logPath(c), c.Host.LogConfig)
	if err != nil {
		reportReady(ready, 125, err)
		if resume == nil {
			return 125
		}
		e.log.Warn("opening the container log", "err", err) // the exit must still be recorded
	} else {
		defer log.Close()
	}

	var code int
	var started bool
	loop := restartLoop{Began: time.Now(), Backoff: 100 * time.Millisecond}
	if resume != nil {
		if err := json.Unmarshal([]byte(resume.Loop), &loop); err != nil {
			e.log.Warn("reading the restart loop's state", "err", err)
		}
		code, started = resume.Code, true
		e.recordExit(c, code, resume.Err)
		e.teardownNetwork(c)
	} else {
		code, started = e.runOnce(c, log, attached, ready, loop)
	}
	for e.shouldRestart(c, code, started) {
		if time.Since(loop.Began) > 10*time.Second {
			loop.Backoff = 100 * time.Millisecond
		}
		e.updateState(c, func(s *State) { s.Status = StatusRestarting })
		time.Sleep(loop.Backoff)
		loop.Backoff = min(loop.Backoff*2, 5*time.Second)
		// A stop during the back-off wins.
		if cur, err := e.load(c.ID); err != nil || cur.State.StoppedByUser {
			if err == nil {
				e.updateState(c, func(s *State) { s.Status = StatusExited })
			}
			break
		}
		e.updateState(c, func(s *State) { s.RestartCount++ })
		loop.Run++
		loop.Began = time.Now()
		code, started = e.runOnce(c, log, false, nil, loop)
	}
	e.unmountRootfs(c)
	e.updateState(c, func(s *State) { s.MonitorPid, s.MonitorStart = 0, 0 })
	if c.Host.AutoRemove {
		e.remove(c)
	}
	return code
}

// shouldRestart applies the restart policy to an exit.
func (e *Engine) shouldRestart(c *Container, code int, started bool) bool {
	cur, err := e.load(c.ID)
	if err != nil || cur.State.StoppedByUser || !started {
		return false
	}
	p := c.Host.RestartPolicy
	switch p.Name {
	case "always", "unless-stopped":
		return true
	case "on-failure":
		return code != 0 && (p.MaximumRetryCount == 0 || cur.State.RestartCount < p.MaximumRetryCount)
	}
	return false
}

// reportReady tells the starter how the start went and closes the pipe:
// "ok PID" or "CODE MESSAGE".
func reportReady(ready *os.File, code int, err error) {
	if ready == nil {
		return
	}
	if err != nil {
		fmt.Fprintf(ready, "%d %s\n", code, err)
	} else {
		fmt.Fprintf(ready, "ok %d\n", code)
	}
	ready.Close()
}

// runOnce runs the container once: mount, create, start, relay, wait,
// delete. It returns the exit code and whether the process ran at all.
// Once the container runs it execs the lean monitor when it can (it then
// does not return: the full monitor resumes in Monitor).
func (e *Engine) runOnce(c *Container, log *jsonlog.Writer, attached bool, ready *os.File, loop restartLoop) (int, bool) {
	fail := func(err error) (int, bool) {
		code := runtime.ExitCode(err)
		e.updateState(c, func(s *State) {
			s.Status, s.ExitCode, s.Error, s.Pid = StatusCreated, code, err.Error(), 0
			if s.RestartCount > 0 || !s.StartedAt.IsZero() {
				s.Status = StatusExited
			}
			s.FinishedAt = time.Now().UTC()
		})
		reportReady(ready, code, err)
		return code, false
	}
	bundle := filepath.Join(c.dir(e), "bundle")
	// The root filesystem and the network namespace do not depend on each
	// other: made side by side (a millisecond or so each).
	var root string
	var rootErr error
	mounted := make(chan struct{})
	go func() {
		defer close(mounted)
		root, rootErr = e.mountRootfs(c)
	}()
	netns, err := e.setupNetwork(c)
	<-mounted
	if err != nil {
		return fail(err)
	}
	defer e.teardownNetwork(c)
	if rootErr != nil {
		return fail(rootErr)
	}
	spec, err := e.buildSpec(c, root)
	if err != nil {
		return fail(err)
	}
	for i := range spec.Linux.Namespaces {
		if spec.Linux.Namespaces[i].Type == "network" {
			spec.Linux.Namespaces[i].Path = netns
		}
	}
	if e.runtime != "" {
		// Older runtimes refuse versions they do not know (crun 1.8:
		// "unknown version specified" for 1.2); what nook writes is
		// valid 1.0.2 apart from optional newer fields they ignore.
		spec.Version = "1.0.2-dev"
	}
	if err := writeJSON(filepath.Join(bundle, "config.json"), spec, false); err != nil {
		return fail(err)
	}
	e.rt.delete(c.ID, true) // a leftover of a crashed monitor

	var pio stdio
	var closers []io.Closer
	defer func() {
		for _, cl := range closers {
			cl.Close()
		}
	}()
	devnull, _ := os.Open(os.DevNull)
	closers = append(closers, devnull)
	pio[0] = devnull
	if attached && c.Config.OpenStdin && !c.Config.Tty {
		pio[0] = os.Stdin
	}
	var outR, errR *os.File
	if !c.Config.Tty {
		var outW, errW *os.File
		if outR, outW, err = os.Pipe(); err != nil {
			return fail(err)
		}
		if errR, errW, err = os.Pipe(); err != nil {
			return fail(err)
		}
		pio[1], pio[2] = outW, errW
		closers = append(closers, outR, errR)
	}
	proc, err := e.rt.create(c.ID, bundle, spec, pio, c.Config.Tty)
	if pio[1] != nil {
		pio[1].Close()
		pio[2].Close()
	}
	if err != nil {
		return fail(err)
	}
	if proc.Console != nil {
		closers = append(closers, proc.Console)
	}
	if attached && proc.Console != nil {
		resizeTerminal(proc.Console) // before the program starts
	}
	if err := e.rt.start(c.ID); err != nil {
		e.rt.delete(c.ID, true)
		return fail(err)
	}
	pidStart, _ := runtime.ProcessStartTime(proc.Pid)
	e.updateState(c, func(s *State) {
		s.Status, s.Pid, s.PidStart, s.Error, s.ExitCode = StatusRunning, proc.Pid, pidStart, "", 0
		s.StartedAt, s.FinishedAt, s.OOMKilled = time.Now().UTC(), time.Time{}, false
	})
	reportReady(ready, proc.Pid, nil)
	// Returns only when there is no lean monitor or it cannot take over.
	e.handOff(c, proc, outR, errR, attached, loop)

	var out, errOut *os.File
	if attached {
		out, errOut = os.Stdout, os.Stderr
	}
	var wg sync.WaitGroup
	if proc.Console != nil {
		if attached {
			relayTerminal(proc.Console, c.Config.OpenStdin)
		}
		wg.Add(1)
		go func() { defer wg.Done(); log.Pump("stdout", proc.Console, out) }()
	} else {
		wg.Add(2)
		go func() { defer wg.Done(); log.Pump("stdout", outR, out) }()
		go func() { defer wg.Done(); log.Pump("stderr", errR, errOut) }()
	}
	// From here on the monitor only waits and copies output, for as long
	// as the container lives: give back the heap that starting it took
	// (Go's scavenger would, but only over minutes), so that a monitor
	// costs its container as little as it can. Not at once: a container
	// that is over in a moment (`run --rm IMAGE true`) would wait for the
	// collection (a few ms) before its exit is even seen.
	free := time.AfterFunc(freeAfter, debug.FreeOSMemory)
	code, werr := proc.Wait()
	free.Stop()
	drained := make(chan struct{})
	go func() { wg.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(2 * time.Second): // a descendant outside the pid namespace holds the pipe
	}
	var msg string
	if werr != nil {
		msg = werr.Error()
	}
	e.recordExit(c, code, msg)
	return code, true
}

// freeAfter is how long a container runs before its monitor (when it keeps
// it, without a lean monitor to hand over to) gives back its start-up heap.
const freeAfter = 500 * time.Millisecond

// recordExit does what follows the init's exit: OOM check, the runtime's
// delete (cgroup), the state. werr is why waiting failed, if it did.
func (e *Engine) recordExit(c *Container, code int, werr string) {
	oom := false
	if cg, err := cgroups.New("/nook/"+c.ID, c.ID, e.log); err == nil {
		if st, err := cg.Stats(); err == nil && st.OOMKills > 0 {
			oom = true
		}
	}
	if p := c.Host.RestartPolicy.Name; c.Host.AutoRemove && (p == "" || p == "no") {
		// The container goes for good (--rm never restarts): its network
		// and root filesystem go now, side by side with the runtime's
		// delete (the cgroup), rather than one after the other later
		// (teardownNetwork, unmountRootfs and remove find them gone).
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); e.teardownNetwork(c) }()
		go func() { defer wg.Done(); e.unmountRootfs(c) }()
		defer wg.Wait()
	}
	if err := e.rt.delete(c.ID, true); err != nil {
		e.log.Warn("deleting the runtime's container", "err", err)
	}
	e.updateState(c, func(s *State) {
		s.Status, s.Pid, s.PidStart, s.ExitCode, s.OOMKilled = StatusExited, 0, 0, code, oom
		s.FinishedAt = time.Now().UTC()
		if werr != "" {
			s.Error = werr
		}
	})
}

// resizeTerminal makes the pty's size the client's (our stdin's).
func resizeTerminal(master *os.File) {
	if ws, err := unix.IoctlGetWinsize(int(os.Stdin.Fd()), unix.TIOCGWINSZ); err == nil {
		unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, ws)
	}
}

// relayTerminal copies the client's terminal (our stdin) to the pty and
// keeps the pty's size equal to the client's: the client signals us
// SIGWINCH when its window changes.
func relayTerminal(master *os.File, stdin bool) {
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, unix.SIGWINCH)
	resizeTerminal(master)
	go func() {
		for range winch {
			resizeTerminal(master)
		}
	}()
	if stdin {
		go io.Copy(master, os.Stdin)
	}
}

// mountRootfs mounts the container's root filesystem at bundle/rootfs: an
// overlay of the image's layers (or of --rootfs DIR) under the container's
// upper dir; --rootfs-rw uses DIR itself.
func (e *Engine) mountRootfs(c *Container) (string, error) {
	dir := c.dir(e)
	target := filepath.Join(dir, "bundle", "rootfs")
	if c.Rootfs != "" && c.Host.RootfsRW {
		return c.Rootfs, nil
	}
	if ok, _ := rootfs.Mounted(target); ok {
		return target, nil
	}
	var lowers []string
	if c.Rootfs != "" {
		lowers = []string{c.Rootfs}
	} else {
		store, err := e.Images()
		if err != nil {
			return "", err
		}
		img, err := store.Get(c.ImageID)
		if err != nil {
			return "", fmt.Errorf("the container's image %s: %w", c.Image, err)
		}
		if lowers, err = store.LayerDirs(img); err != nil {
			return "", err
		}
	}
	err := rootfs.Mount(lowers, filepath.Join(dir, "upper"), filepath.Join(dir, "work"), target, rootfs.Options{Log: e.log})
	if err != nil {
		return "", fmt.Errorf("mounting the root filesystem: %w", err)
	}
	return target, nil
}

func (e *Engine) unmountRootfs(c *Container) {
	target := filepath.Join(c.dir(e), "bundle", "rootfs")
	if err := rootfs.Unmount(target); err != nil {
		e.log.Warn("unmounting the root filesystem", "err", err)
	}
}

// readReady reads the monitor's report from the ready pipe.
func readReady(r io.Reader) (pid int, err error) {
	data, _ := io.ReadAll(r)
	var word string
	var n int
	if _, serr := fmt.Sscan(string(data), &word, &n); serr == nil && word == "ok" {
		return n, nil
	}
	var code int
	var msg string
	if k, _ := fmt.Sscanf(string(data), "%d", &code); k == 1 {
		if _, rest, ok := cutSpace(string(data)); ok {
			msg = rest
		}
		return 0, &runtime.ExitError{Code: code, Err: fmt.Errorf("%s", trimNL(msg))}
	}
	return 0, &runtime.ExitError{Code: 125, Err: fmt.Errorf("the container's monitor exited before starting it")}
}

func cutSpace(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func trimNL(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}
