package main

import (
	"encoding/json"
	"os"

	"github.com/spf13/cobra"

	"github.com/nook-containers/nook/internal/runtime"
)

func stateCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "state CONTAINER_ID",
		Short: "print the container's state as the OCI spec's JSON",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withContainer(g, args[0], func(c *runtime.Container) error {
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(&c.State.State)
			})
		},
	}
}
