package main

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func volumeCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "volume", Short: "manage named volumes"}
	var force bool
	rm := &cobra.Command{
		Use: "rm [-f] VOLUME...", Aliases: []string{"remove"}, Short: "remove volumes no container uses",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			failed := false
			for _, v := range args {
				if err := e.RemoveVolume(v, force); err != nil {
					fmt.Fprintln(os.Stderr, "nook:", err)
					failed = true
					continue
				}
				fmt.Println(v)
			}
			if failed {
				return exitStatus(1)
			}
			return nil
		},
	}
	rm.Flags().BoolVarP(&force, "force", "f", false, "even if containers use it")
	cmd.AddCommand(
		&cobra.Command{
			Use: "create NAME", Short: "create a named volume", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				e, err := g.engine()
				if err != nil {
					return err
				}
				if _, err := e.CreateVolume(args[0]); err != nil {
					return err
				}
				fmt.Println(args[0])
				return nil
			},
		},
		&cobra.Command{
			Use: "ls", Aliases: []string{"list"}, Short: "list volumes", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				e, err := g.engine()
				if err != nil {
					return err
				}
				vols, err := e.Volumes()
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(os.Stdout, 0, 8, 3, ' ', 0)
				fmt.Fprintln(tw, "DRIVER\tVOLUME NAME")
				for _, v := range vols {
					fmt.Fprintf(tw, "%s\t%s\n", v.Driver, v.Name)
				}
				return tw.Flush()
			},
		},
		rm,
		&cobra.Command{
			Use: "prune", Short: "remove every volume no container uses", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				e, err := g.engine()
				if err != nil {
					return err
				}
				removed, err := e.PruneVolumes()
				for _, v := range removed {
					fmt.Println("Deleted:", v)
				}
				return err
			},
		},
	)
	return cmd
}
