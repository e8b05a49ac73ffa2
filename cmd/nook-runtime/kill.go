package main

import (
	"errors"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/nook-containers/nook/internal/runtime"
)

func killCmd(g *globals) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "kill [flags] CONTAINER_ID [SIGNAL]",
		Short: "send a signal (default SIGTERM) to the container's init",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := "SIGTERM"
			if len(args) == 2 {
				name = args[1]
			}
			sig, err := parseKillSignal(name)
			if err != nil {
				return err
			}
			err = withContainer(g, args[0], func(c *runtime.Container) error { return c.Kill(sig, all, g.log) })
			// runc: kill --all of a stopped container signals whatever is
			// left in its cgroup, and succeeds when nothing is.
			if all && errors.Is(err, runtime.ErrNotRunning) {
				return nil
			}
			return err
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "signal every process in the container's cgroup")
	return cmd
}

// parseKillSignal is runtime.ParseSignal plus runc's signal 0: no signal,
// only the check that the container is running (kill(2)).
func parseKillSignal(name string) (unix.Signal, error) {
	if name == "0" {
		return 0, nil
	}
	return runtime.ParseSignal(name)
}
