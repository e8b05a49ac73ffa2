package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// containerCmd is `nook container ...`: Docker's grouped spelling of the
// container commands, plus prune.
func containerCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "container", Short: "manage containers"}
	cmd.AddCommand(runCmd(g), createCmd(g), startCmd(g), stopCmd(g), killCmd(g), restartCmd(g),
		rmCmd(g), psCmd(g), logsCmd(g), execCmd(g), inspectCmd(g), statsCmd(g), topCmd(g), waitCmd(g),
		pauseCmd(g), unpauseCmd(g), cpCmd(g),
		&cobra.Command{
			Use: "prune", Short: "remove every stopped container", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				e, err := g.engine()
				if err != nil {
					return err
				}
				removed, err := e.Prune()
				if len(removed) > 0 {
					fmt.Println("Deleted Containers:")
				}
				for _, id := range removed {
					fmt.Println(id)
				}
				return err
			},
		})
	return cmd
}
