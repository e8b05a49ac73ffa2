package main

import (
	"github.com/spf13/cobra"
)

func rmCmd(g *globals) *cobra.Command {
	var force, volumes bool
	cmd := &cobra.Command{
		Use:     "rm [-f] CONTAINER...",
		Aliases: []string{"remove"},
		Short:   "remove containers",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.eachContainer(args, func(name string) error {
				c, err := g.container(name)
				if err != nil {
					return err
				}
				return g.eng.Remove(c, force)
			})
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "kill a running container first")
	cmd.Flags().BoolVarP(&volumes, "volumes", "v", false, "remove anonymous volumes (always done)")
	return cmd
}
