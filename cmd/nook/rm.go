package main

import (
	"github.com/spf13/cobra"

	"github.com/nook-containers/nook/internal/engine"
)

func rmCmd(g *globals) *cobra.Command {
	var force, volumes bool
	cmd := eachCmd(g, "rm [-f] CONTAINER...", "remove containers",
		func(c *engine.Container) error { return g.eng.Remove(c, force) })
	cmd.Aliases = []string{"remove"}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "kill a running container first")
	cmd.Flags().BoolVarP(&volumes, "volumes", "v", false, "remove anonymous volumes (always done)")
	return cmd
}
