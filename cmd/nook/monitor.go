package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/nook-containers/nook/internal/engine"
)

// monitorCmd is the hidden `nook container-monitor ID`: one per running
// container, started by run/start in its own session (internal/engine's
// Monitor says what it does). The lean monitor (cmd/nook-monitor) execs it
// back with --exited=CODE once the container has exited.
func monitorCmd(g *globals) *cobra.Command {
	var attached bool
	var exited int
	var exitErr, loop string
	cmd := &cobra.Command{
		Use:    engine.MonitorArg + " ID",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			var resume *engine.Resume
			if cmd.Flags().Changed("exited") {
				resume = &engine.Resume{Code: exited, Err: exitErr, Loop: loop}
			}
			id := args[0]
			if id == engine.PendingID && resume == nil {
				// Started before its container existed (`nook run`).
				if id, err = e.PendingContainer(attached); err != nil || id == "" {
					return err
				}
			}
			os.Exit(e.Monitor(id, attached, resume))
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&attached, "attached", false, "stdio are the client's")
	f.IntVar(&exited, "exited", 0, "resume after the lean monitor: the container exited with this code")
	f.StringVar(&exitErr, "exit-error", "", "resume: why waiting for the container failed")
	f.StringVar(&loop, "loop", "", "the restart loop's state (JSON), handed through the lean monitor")
	return cmd
}
