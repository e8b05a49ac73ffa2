package main

import (
	"github.com/spf13/cobra"

	"github.com/nook-containers/nook/internal/engine"
)

func execCmd(g *globals) *cobra.Command {
	var o engine.ExecOptions
	var env []string
	cmd := &cobra.Command{
		Use:   "exec [-it] [-e K=V] [-u USER] [-w DIR] CONTAINER COMMAND [ARG...]",
		Short: "run a command in a running container",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.container(args[0])
			if err != nil {
				return err
			}
			o.Cmd = args[1:]
			o.Env = engine.ExpandEnv(env)
			code, err := g.eng.Exec(c, o)
			if err != nil {
				return err
			}
			return status(code)
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.BoolVarP(&o.Interactive, "interactive", "i", false, "keep stdin open")
	f.BoolVarP(&o.Tty, "tty", "t", false, "give the process a terminal")
	f.BoolVarP(&o.Detach, "detach", "d", false, "run in the background")
	f.StringArrayVarP(&env, "env", "e", nil, "set an environment variable")
	f.StringVarP(&o.User, "user", "u", "", "USER[:GROUP]")
	f.StringVarP(&o.WorkingDir, "workdir", "w", "", "working directory")
	f.BoolVar(&o.Privileged, "privileged", false, "every capability")
	return cmd
}
