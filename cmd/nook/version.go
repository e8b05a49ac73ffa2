package main

import (
	"fmt"
	goruntime "runtime"

	"github.com/spf13/cobra"
)

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "print nook's version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, args []string) {
			fmt.Printf("nook version %s\ncommit: %s\ngo: %s\n", version, commit, goruntime.Version())
		},
	}
}
