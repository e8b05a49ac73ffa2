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
			// Forward signals from the start, so that a Ctrl-C during create
			// is not lost; SIGURG is Go's own preemption signal.
			sigc := make(chan os.Signal, 64)
			signal.Notify(sigc)
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
			go forward(sigc, c.Pid())
			status, err := c.Wait()
			signal.Stop(sigc)
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

func forward(sigc chan os.Signal, pid int) {
	for s := range sigc {
		sig := s.(unix.Signal)
		// SIGWINCH: a relayed terminal resizes the pty, and the kernel
		// signals the pty's foreground process group itself.
		if sig == unix.SIGCHLD || sig == unix.SIGURG || sig == unix.SIGPIPE || sig == unix.SIGWINCH {
			continue
		}
		unix.Kill(pid, sig)
	}
}
