package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/nook-containers/nook/internal/engine"
	"github.com/nook-containers/nook/internal/runtime"
)

// eachCmd is a command that applies f to every container named on its
// command line, as Docker's stop, kill, pause...: each name is printed
// when done, each failure reported, and the exit code is 1 if any failed.
func eachCmd(g *globals, use, short string, f func(c *engine.Container) error) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.eachContainer(args, func(name string) error {
				c, err := g.container(name)
				if err != nil {
					return err
				}
				return f(c)
			})
		},
	}
}

func stopCmd(g *globals) *cobra.Command {
	var timeout int
	cmd := eachCmd(g, "stop [-t SECONDS] CONTAINER...", "stop containers: the stop signal, then SIGKILL after the timeout",
		func(c *engine.Container) error { return g.eng.Stop(c, time.Duration(timeout)*time.Second) })
	cmd.Flags().IntVarP(&timeout, "time", "t", 10, "seconds to wait before killing")
	return cmd
}

func killCmd(g *globals) *cobra.Command {
	var sig string
	cmd := eachCmd(g, "kill [-s SIGNAL] CONTAINER...", "send a signal to containers' main process (default SIGKILL)",
		func(c *engine.Container) error {
			s, err := runtime.ParseSignal(sig)
			if err != nil {
				return err
			}
			return g.eng.Kill(c, s)
		})
	cmd.Flags().StringVarP(&sig, "signal", "s", "KILL", "the signal")
	return cmd
}

func restartCmd(g *globals) *cobra.Command {
	var timeout int
	cmd := eachCmd(g, "restart [-t SECONDS] CONTAINER...", "stop and start containers",
		func(c *engine.Container) error { return g.eng.Restart(c, time.Duration(timeout)*time.Second) })
	cmd.Flags().IntVarP(&timeout, "time", "t", 10, "seconds to wait before killing")
	return cmd
}

func pauseCmd(g *globals) *cobra.Command {
	return eachCmd(g, "pause CONTAINER...", "freeze every process of containers",
		func(c *engine.Container) error { return g.eng.Pause(c) })
}

func unpauseCmd(g *globals) *cobra.Command {
	return eachCmd(g, "unpause CONTAINER...", "thaw paused containers",
		func(c *engine.Container) error { return g.eng.Unpause(c) })
}
