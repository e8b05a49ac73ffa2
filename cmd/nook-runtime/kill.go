package main

import (
	"github.com/spf13/cobra"

	"github.com/nook-containers/nook/internal/runtime"
)

func killCmd(g *globals) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "kill [flags] CONTAINER_ID [SIGNAL]",
		Short: "send a signal (default SIGTERM) to the container's init",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := "SIGTERM"
			if len(args) == 2 {
				name = args[1]
			}
			sig, err := runtime.ParseSignal(name)
			if err != nil {
				return err
			}
			return withContainer(g, args[0], func(c *runtime.Container) error { return c.Kill(sig, all, g.log) })
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "signal every process in the container's cgroup")
	return cmd
}
