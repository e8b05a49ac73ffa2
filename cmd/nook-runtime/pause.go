package main

import (
	"github.com/spf13/cobra"

	"github.com/nook-containers/nook/internal/runtime"
)

func pauseCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "pause CONTAINER_ID",
		Short: "freeze every process in the container",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withContainer(g, args[0], func(c *runtime.Container) error { return c.Pause(g.log) })
		},
	}
}
