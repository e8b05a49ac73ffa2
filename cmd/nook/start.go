package main

import (
	"github.com/spf13/cobra"
)

func startCmd(g *globals) *cobra.Command {
	var attach bool
	cmd := &cobra.Command{
		Use:   "start [-a] CONTAINER...",
		Short: "start stopped containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if attach {
				c, err := g.container(args[0])
				if err != nil {
					return err
				}
				code, err := g.eng.Start(c, true)
				if err != nil {
					return err
				}
				return status(code)
			}
			return g.eachContainer(args, func(name string) error {
				c, err := g.container(name)
				if err == nil {
					_, err = g.eng.Start(c, false)
				}
				return err
			})
		},
	}
	cmd.Flags().BoolVarP(&attach, "attach", "a", false, "attach to the container's output and wait for it")
	return cmd
}
