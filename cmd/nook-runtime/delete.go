package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/nook-containers/nook/internal/runtime"
)

func deleteCmd(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "delete [flags] CONTAINER_ID",
		Short: "remove a stopped container (-f: kill it first)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := runtime.Load(g.root, args[0])
			if errors.Is(err, runtime.ErrNotFound) && force {
				return nil // runc: delete --force of a missing container succeeds
			}
			if err != nil {
				return err
			}
			defer c.Close()
			return c.Delete(force, g.log)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "kill the container if it is still running")
	return cmd
}
