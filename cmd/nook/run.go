package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func runCmd(g *globals) *cobra.Command {
	f := &createFlags{}
	var detach bool
	cmd := &cobra.Command{
		Use:   "run [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "create and start a container",
		Example: "  nook run -it --rm nook.local/busybox sh\n" +
			"  nook run -d --name web --memory 256m --cpus 0.5 --pids-limit 100 IMAGE CMD\n" +
			"  nook run --rm --rootfs ./alpine-rootfs /bin/sh -c 'cat /etc/os-release'",
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			o, err := f.options(g, cmd, args)
			if err != nil {
				return err
			}
			// The monitor starts first: its start-up overlaps Create.
			pm, err := e.PrepareMonitor(!detach)
			if err != nil {
				return err
			}
			c, err := e.Create(o)
			if err != nil {
				pm.Abort()
				return err
			}
			code, err := e.StartPrepared(c, !detach, pm)
			if err != nil {
				if f.rm {
					e.Remove(c, true)
				}
				return err
			}
			if detach {
				fmt.Println(c.ID)
				return nil
			}
			return status(code)
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().BoolVarP(&detach, "detach", "d", false, "run in the background and print the container ID")
	return cmd
}
