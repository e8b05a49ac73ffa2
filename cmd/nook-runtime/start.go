package main

import (
	"github.com/spf13/cobra"

	"github.com/nook-containers/nook/internal/runtime"
)

func startCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "start CONTAINER_ID",
		Short: "start the program of a created container",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withContainer(g, args[0], func(c *runtime.Container) error { return c.Start(g.log) })
		},
	}
}
