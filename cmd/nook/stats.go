package main

import (
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/nook-containers/nook/internal/engine"
)

func statsCmd(g *globals) *cobra.Command {
	var noStream bool
	var format string
	cmd := &cobra.Command{
		Use:   "stats [--no-stream] [CONTAINER...]",
		Short: "show containers' CPU, memory, network, block I/O and pids",
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			var cs []*engine.Container
			if len(args) == 0 {
				all, err := e.List()
				if err != nil {
					return err
				}
				for _, c := range all {
					if c.State.Status == engine.StatusRunning {
						cs = append(cs, c)
					}
				}
			}
			for _, a := range args {
				c, err := e.Get(a)
				if err != nil {
					return err
				}
				cs = append(cs, c)
			}
			prev := map[string]*engine.Stats{}
			sample := func() []*engine.Stats {
				var out []*engine.Stats
				for _, c := range cs {
					s, err := e.Sample(c, prev[c.ID])
					if err != nil {
						s = &engine.Stats{ID: c.ID, Name: c.Name}
					}
					prev[c.ID] = s
					out = append(out, s)
				}
				return out
			}
			sample()
			time.Sleep(500 * time.Millisecond) // CPU % needs two samples
			for {
				rows := sample()
				if !noStream {
					fmt.Print("\033[2J\033[H")
				}
				if err := printStats(format, rows); err != nil {
					return err
				}
				if noStream {
					return nil
				}
				time.Sleep(time.Second)
			}
		},
	}
	cmd.Flags().BoolVar(&noStream, "no-stream", false, "print one sample and exit")
	cmd.Flags().StringVar(&format, "format", "", "json, or a Go template")
	return cmd
}

func printStats(format string, rows []*engine.Stats) error {
	switch format {
	case "json":
		enc := json.NewEncoder(os.Stdout)
		for _, r := range rows {
			enc.Encode(r)
		}
		return nil
	case "", "table":
	default:
		return printTemplate(format, rows)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "CONTAINER ID\tNAME\tCPU %\tMEM USAGE / LIMIT\tMEM %\tNET I/O\tBLOCK I/O\tPIDS")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%.2f%%\t%s / %s\t%.2f%%\t%s / %s\t%s / %s\t%d\n", r.ID[:12], r.Name, r.CPUPerc,
			bytesIEC(r.MemUsage), bytesIEC(r.MemLimit), r.MemPerc, bytesSI(r.NetRx), bytesSI(r.NetTx),
			bytesSI(r.BlockIn), bytesSI(r.BlockOut), r.PIDs)
	}
	return tw.Flush()
}

func bytesIEC(n uint64) string {
	return units(float64(n), 1024, []string{"B", "KiB", "MiB", "GiB", "TiB"})
}
func bytesSI(n uint64) string { return units(float64(n), 1000, []string{"B", "kB", "MB", "GB", "TB"}) }

func units(v, base float64, names []string) string {
	i := 0
	for v >= base && i < len(names)-1 {
		v /= base
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f%s", v, names[i])
	}
	return fmt.Sprintf("%.4g%s", v, names[i])
}
