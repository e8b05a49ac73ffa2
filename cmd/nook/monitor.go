package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/nook-containers/nook/internal/engine"
)

// monitorCmd is the hidden `nook container-monitor ID`: one per running
// container, started by run/start in its own session (internal/engine's
// Monitor says what it does).
func monitorCmd(g *globals) *cobra.Command {
	var attached bool
	cmd := &cobra.Command{
		Use:    engine.MonitorArg + " ID",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			os.Exit(e.Monitor(args[0], attached))
			return nil
		},
	}
	cmd.Flags().BoolVar(&attached, "attached", false, "stdio are the client's")
	return cmd
}
