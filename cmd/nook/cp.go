package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func cpCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "cp CONTAINER:SRC HOSTDST | HOSTSRC CONTAINER:DST",
		Short: "copy files between a container and the host",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, dst := args[0], args[1]
			split := func(s string) (string, string, bool) {
				name, path, ok := strings.Cut(s, ":")
				if !ok || strings.HasPrefix(s, "/") || strings.HasPrefix(s, ".") {
					return "", "", false
				}
				return name, path, true
			}
			if name, path, ok := split(src); ok {
				c, err := g.container(name)
				if err != nil {
					return err
				}
				return g.eng.Copy(c, path, dst, false)
			}
			if name, path, ok := split(dst); ok {
				c, err := g.container(name)
				if err != nil {
					return err
				}
				return g.eng.Copy(c, path, src, true)
			}
			return fmt.Errorf("cp: one of the paths must be CONTAINER:PATH")
		},
	}
}
