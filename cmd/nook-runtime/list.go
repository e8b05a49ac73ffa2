package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/nook-containers/nook/internal/runtime"
)

func listCmd(g *globals) *cobra.Command {
	var format string
	var quiet bool
	cmd := &cobra.Command{
		Use:     "list [flags]",
		Aliases: []string{"ls"},
		Short:   "list containers",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			states, err := runtime.List(g.root)
			if err != nil {
				return err
			}
			// Each row is state's JSON with the owner filled in, as in runc.
			items := make([]containerState, 0, len(states))
			for i := range states {
				it := stateOf(&states[i])
				it.Owner = owner(states[i].Owner)
				items = append(items, it)
			}
			switch {
			case quiet:
				for _, it := range items {
					fmt.Println(it.ID)
				}
			case format == "json":
				return json.NewEncoder(os.Stdout).Encode(items)
			case format == "table":
				w := tabwriter.NewWriter(os.Stdout, 12, 1, 3, ' ', 0)
				fmt.Fprint(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n")
				for _, it := range items {
					fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", it.ID, it.Pid, it.Status, it.Bundle,
						it.Created.Format(time.RFC3339Nano), it.Owner)
				}
				return w.Flush()
			default:
				return fmt.Errorf("invalid format %q: want table or json", format)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "table", "table or json")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only the ids")
	return cmd
}

func owner(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username
	}
	return "#" + strconv.Itoa(uid)
}
