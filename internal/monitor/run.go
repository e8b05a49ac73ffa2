package monitor

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nook-containers/nook/internal/jsonlog"
)

// drainTimeout bounds the wait for the output pipes' EOF after the init
// exited: a descendant outside the pid namespace may hold them open.
const drainTimeout = 2 * time.Second

// quietAfter is how long the output must pause before the monitor returns
// its free heap to the kernel.
const quietAfter = 2 * time.Second

// Run monitors the container until its init exits, then executes
// c.Resume. It returns (with the init's exit code) only when that execve
// fails.
func Run(c *Config) int {
	// Kept across the execve that brought us here; set again in case
	// this binary is ever started otherwise.
	unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	// Caught, not ignored (as the full monitor): signals ignored here
	// would be inherited by what the monitor starts next.
	signal.Notify(make(chan os.Signal, 1), unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGPIPE, unix.SIGTTOU, unix.SIGTTIN)

	log, err := jsonlog.Open(c.Log, c.LogMaxSize, c.LogMaxFile)
	if err != nil {
		// Keep waiting and relaying: the container must not lose its
		// monitor over its log.
		fmt.Fprintf(os.Stderr, "nook-monitor: opening the container log: %v\n", err)
	}
	var out, errOut io.Writer
	if c.Attached {
		out, errOut = os.Stdout, os.Stderr
	}
	// Logging allocates per line, and after a burst of output Go keeps
	// the grown heap (its minimum goal is 4 MB; the scavenger returns
	// pages over minutes). Collect sooner, and give back what is free
	// once the output has been quiet for a moment.
	debug.SetGCPercent(25)
	quiet := time.AfterFunc(time.Hour, debug.FreeOSMemory)
	quiet.Stop()
	var wg sync.WaitGroup
	pump := func(stream string, fd int, w io.Writer) *os.File {
		f := os.NewFile(uintptr(fd), stream)
		wg.Add(1)
		go func() { defer wg.Done(); log.Pump(stream, quietReader{f, quiet}, w) }()
		return f
	}
	if c.Console >= 0 {
		master := pump("stdout", c.Console, out)
		if c.Winch {
			relayWinch(c.Console)
		}
		if c.Stdin {
			go io.Copy(master, os.Stdin)
		}
	} else {
		pump("stdout", c.Stdout, out)
		pump("stderr", c.Stderr, errOut)
	}

	code, werr := reap(c.Init)
	drained := make(chan struct{})
	go func() { wg.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(drainTimeout):
	}
	for _, fd := range []int{c.Stdout, c.Stderr, c.Console} {
		if fd >= 0 {
			unix.CloseOnExec(fd)
		}
	}
	args := append(c.Resume[:len(c.Resume):len(c.Resume)], "--exited="+strconv.Itoa(code))
	if werr != nil {
		args = append(args, "--exit-error="+werr.Error())
	}
	// Retried for a while: a rebuild may be replacing the nook binary
	// right now (ETXTBSY while it is written, ENOENT between unlink and
	// rename).
	for try := 0; ; try++ {
		err = syscall.Exec(args[0], args, os.Environ())
		if try == 50 || (err != unix.ETXTBSY && err != unix.ENOENT) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The container's record still says running; the next nook command
	// finds this monitor gone and does its last duties.
	fmt.Fprintf(os.Stderr, "nook-monitor: container %s exited with %d; executing %s: %v\n", c.ID, code, args[0], err)
	return code
}

// quietReader re-arms a timer at every read that returns data.
type quietReader struct {
	r io.Reader
	t *time.Timer
}

func (q quietReader) Read(p []byte) (int, error) {
	n, err := q.r.Read(p)
	if n > 0 {
		q.t.Reset(quietAfter)
	}
	return n, err
}

// reap waits for the init and returns its exit status (128+N when killed
// by signal N). As a child subreaper it reaps every other child that
// exits meanwhile (orphans reparented to us, a network's DNS server).
func reap(pid int) (int, error) {
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(-1, &ws, 0, nil)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return 255, fmt.Errorf("waiting for the container's init %d: %w", pid, err)
		case got != pid:
			continue
		case ws.Signaled():
			return 128 + int(ws.Signal()), nil
		default:
			return ws.ExitStatus(), nil
		}
	}
}

// relayWinch keeps the pty's size equal to the client's terminal (fd 0):
// now, and whenever the client signals SIGWINCH.
func relayWinch(console int) {
	resize := func() {
		if ws, err := unix.IoctlGetWinsize(0, unix.TIOCGWINSZ); err == nil {
			unix.IoctlSetWinsize(console, unix.TIOCSWINSZ, ws)
		}
	}
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, unix.SIGWINCH)
	resize() // a change during the execve went unnoticed
	go func() {
		for range winch {
			resize()
		}
	}()
}
