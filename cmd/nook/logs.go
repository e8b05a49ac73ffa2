package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/nook-containers/nook/internal/engine"
)

func logsCmd(g *globals) *cobra.Command {
	var follow, timestamps bool
	var tail string
	cmd := &cobra.Command{
		Use:   "logs [-f] [--tail N] [-t] CONTAINER",
		Short: "print a container's output",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.container(args[0])
			if err != nil {
				return err
			}
			n := -1
			if tail != "all" {
				if n, err = strconv.Atoi(tail); err != nil || n < 0 {
					return fmt.Errorf("invalid --tail %q: want a number or all", tail)
				}
			}
			return g.eng.Logs(c, engine.LogsOptions{Follow: follow, Tail: n, Timestamps: timestamps, Stdout: os.Stdout, Stderr: os.Stderr})
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new output")
	cmd.Flags().BoolVarP(&timestamps, "timestamps", "t", false, "show when each line was written")
	cmd.Flags().StringVarP(&tail, "tail", "n", "all", "only the last N lines")
	return cmd
}
