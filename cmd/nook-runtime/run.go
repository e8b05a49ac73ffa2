package main

import (
	"os"
	"os/signal"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/nook-containers/nook/internal/runtime"
)

func runCmd(g *globals) *cobra.Command {
	f := &createFlags{}
	var detach, keep bool
	cmd := &cobra.Command{
		Use:   "run [flags] CONTAINER_ID",
		Short: "create and start a container; wait for it unless -d",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			// Catch signals from the start, so that a Ctrl-C during create
			// is not lost.
			sigs := catchSignals()
			if !detach {
				// When nsenter forks into a pid namespace the init is our
				// grandchild: be its reaper so that Wait can collect it.
				unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
			}
			c, err := f.create(g, id, !detach)
			if err != nil {
				return err
			}
			if m := c.Console(); m != nil {
				// terminal=true without --console-socket: relay the pty.
				term, err := runtime.AttachTerminal(m)
				if err != nil {
					c.Delete(true, g.log)
					c.Close()
					return err
				}
				defer term.Close()
			}
			// Once the program runs, no signal may kill us instead of
			// reaching it.
			sigs.allCaught()
			if err := c.Start(g.log); err != nil {
				c.Delete(true, g.log)
				c.Close()
				return err
			}
			if err := writePidFile(f.pidFile, c.Pid()); err != nil {
				c.Delete(true, g.log)
				c.Close()
				return err
			}
			if detach {
				c.Close()
				return nil
			}
			c.Close() // let state, kill and friends in while it runs
			stop := sigs.forward(c.Pid())
			status, err := c.Wait()
			stop()
			if err != nil {
				return err
			}
			if !keep {
				d, err := runtime.Load(g.root, id)
				if err != nil {
					return err
				}
				defer d.Close()
				if err := d.Delete(true, g.log); err != nil {
					return err
				}
			}
			if status != 0 {
				return exitStatus(status)
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVarP(&detach, "detach", "d", false, "do not wait for the container")
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the container after it exits")
	return cmd
}

// relay catches signals for a foreground run or exec and passes them on to
// the container's process.
type relay struct {
	c   chan os.Signal
	all chan struct{} // closed once every signal is caught
}

// catchSignals starts catching signals. SIGINT, SIGTERM, SIGHUP and SIGQUIT
// (what a terminal or a supervisor sends) are caught before it returns; the
// rest in the background. os/signal enables one signal at a time, each a
// round trip to its own locked thread: the 60-odd signals take 2-5 ms,
// better spent alongside create than before it.
func catchSignals() *relay {
	r := &relay{c: make(chan os.Signal, 64), all: make(chan struct{})}
	signal.Notify(r.c, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT)
	go func() {
		signal.Notify(r.c)
		close(r.all)
	}()
	return r
}

// allCaught waits until every signal is caught.
func (r *relay) allCaught() { <-r.all }

// forward passes every caught signal on to pid, which must be our child
// (or, with nsenter's fork, a descendant we are the subreaper of) and not
// yet reaped. The returned stop ends forwarding once pid has been reaped.
//
// Signals go through a pidfd opened now: once the process is reaped, it
// refers to nothing, and a signal can never reach another process that got
// the pid. So stop leaves the signals caught rather than undo catchSignals
// one signal at a time, the same 2-5 ms again; the runtime exits soon after
// anyway. Without a pidfd, stop does undo it, before a reused pid could be
// signalled.
func (r *relay) forward(pid int) (stop func()) {
	<-r.all
	pfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		pfd = -1
	}
	go func() {
		for s := range r.c {
			sig := s.(unix.Signal)
			// SIGWINCH: a relayed terminal resizes the pty, and the kernel
			// signals the pty's foreground process group itself. SIGURG is
			// Go's own preemption signal.
			if sig == unix.SIGCHLD || sig == unix.SIGURG || sig == unix.SIGPIPE || sig == unix.SIGWINCH {
				continue
			}
			if pfd >= 0 {
				unix.PidfdSendSignal(pfd, sig, nil, 0)
			} else {
				unix.Kill(pid, sig)
			}
		}
	}()
	if pfd >= 0 {
		return func() {}
	}
	return func() { signal.Stop(r.c) }
}
