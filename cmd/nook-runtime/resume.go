package main

import (
	"github.com/spf13/cobra"

	"github.com/nook-containers/nook/internal/runtime"
)

func resumeCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "resume CONTAINER_ID",
		Short: "thaw every process of a paused container",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withContainer(g, args[0], func(c *runtime.Container) error { return c.Resume(g.log) })
		},
	}
}
