package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/nook-containers/nook/internal/engine"
)

// psRow is one line of `ps`, with Docker's --format json keys.
type psRow struct {
	ID         string `json:"ID"`
	Image      string `json:"Image"`
	Command    string `json:"Command"`
	CreatedAt  string `json:"CreatedAt"`
	Status     string `json:"Status"`
	State      string `json:"State"`
	Names      string `json:"Names"`
	Ports      string `json:"Ports"`
	RunningFor string `json:"RunningFor"`
}

func psCmd(g *globals) *cobra.Command {
	var all, quiet, noTrunc bool
	var format string
	cmd := &cobra.Command{
		Use:     "ps [-a] [-q] [--format json|TEMPLATE]",
		Aliases: []string{"ls", "list"},
		Short:   "list containers",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			list, err := e.List()
			if err != nil {
				return err
			}
			var rows []psRow
			for _, c := range list {
				up := c.State.Status == engine.StatusRunning || c.State.Status == engine.StatusPaused || c.State.Status == engine.StatusRestarting
				if !all && !up {
					continue
				}
				id := c.ID
				if !noTrunc {
					id = c.ShortID()
				}
				command := strings.Join(append([]string{c.Path}, c.Args...), " ")
				if !noTrunc && len(command) > 20 {
					command = command[:19] + "…"
				}
				rows = append(rows, psRow{ID: id, Image: c.Image, Command: command,
					CreatedAt: c.Created.Local().Format("2006-01-02 15:04:05 -0700 MST"),
					Status:    statusText(c), State: c.State.Status, Names: c.Name,
					RunningFor: ago(c.Created)})
			}
			switch {
			case quiet:
				for _, r := range rows {
					fmt.Println(r.ID)
				}
			case format == "json":
				enc := json.NewEncoder(os.Stdout)
				for _, r := range rows {
					enc.Encode(r)
				}
			case format != "" && format != "table":
				return printTemplate(format, rows)
			default:
				tw := tabwriter.NewWriter(os.Stdout, 0, 8, 3, ' ', 0)
				fmt.Fprintln(tw, "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES")
				for _, r := range rows {
					fmt.Fprintf(tw, "%s\t%s\t%q\t%s\t%s\t%s\t%s\n", r.ID, r.Image, r.Command, r.RunningFor, r.Status, r.Ports, r.Names)
				}
				tw.Flush()
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "show stopped containers too")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "only IDs")
	cmd.Flags().BoolVar(&noTrunc, "no-trunc", false, "do not shorten IDs and commands")
	cmd.Flags().StringVar(&format, "format", "", "json, or a Go template such as {{.Names}}")
	return cmd
}

// statusText is Docker's STATUS column.
func statusText(c *engine.Container) string {
	s := c.State
	switch s.Status {
	case engine.StatusRunning:
		t := "Up " + human(time.Since(s.StartedAt))
		if s.MonitorLost {
			t += " (monitor lost)"
		}
		return t
	case engine.StatusPaused:
		return "Up " + human(time.Since(s.StartedAt)) + " (Paused)"
	case engine.StatusRestarting:
		return fmt.Sprintf("Restarting (%d) %s ago", s.ExitCode, human(time.Since(s.FinishedAt)))
	case engine.StatusExited:
		t := fmt.Sprintf("Exited (%d) %s ago", s.ExitCode, human(time.Since(s.FinishedAt)))
		if s.MonitorLost {
			t += " (monitor lost)"
		}
		return t
	case engine.StatusCreated:
		return "Created"
	}
	return s.Status
}

func ago(t time.Time) string { return human(time.Since(t)) + " ago" }

// human is Docker's units.HumanDuration.
func human(d time.Duration) string {
	switch s := int(d.Seconds()); {
	case s < 1:
		return "Less than a second"
	case s == 1:
		return "1 second"
	case s < 60:
		return fmt.Sprintf("%d seconds", s)
	}
	switch m := int(d.Minutes()); {
	case m == 1:
		return "About a minute"
	case m < 60:
		return fmt.Sprintf("%d minutes", m)
	}
	switch h := int(d.Round(time.Hour).Hours()); {
	case h == 1:
		return "About an hour"
	case h < 48:
		return fmt.Sprintf("%d hours", h)
	case h < 24*7*2:
		return fmt.Sprintf("%d days", h/24)
	default:
		return fmt.Sprintf("%d weeks", h/24/7)
	}
}
