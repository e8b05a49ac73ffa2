package main

import (
	"encoding/json"
	"os"

	"github.com/spf13/cobra"

	"github.com/nook-containers/nook/internal/runtime"
)

func featuresCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "features",
		Short: "print what this runtime implements, as the runtime-spec's features JSON",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "    ")
			return enc.Encode(runtime.Features())
		},
	}
}
