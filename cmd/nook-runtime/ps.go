package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nook-containers/nook/internal/runtime"
)

func psCmd(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "ps [-f table|json] CONTAINER_ID [ps options]",
		Short: "list the processes running in the container",
		Long: `ps lists the processes in the container's cgroup. With -f json it prints
their host pids as a JSON array; with -f table (the default) it runs the host's
ps with the given options (default -ef) and keeps the rows of those pids.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return errors.New("invalid format option")
			}
			c, err := runtime.Load(g.root, args[0])
			if err != nil {
				return err
			}
			pids, err := c.Processes(g.log)
			c.Close()
			if err != nil {
				return err
			}
			if pids == nil {
				pids = []int{}
			}
			if format == "json" {
				return json.NewEncoder(os.Stdout).Encode(pids)
			}
			psArgs := args[1:]
			if len(psArgs) > 0 && psArgs[0] == "--" {
				psArgs = psArgs[1:]
			}
			if len(psArgs) == 0 {
				psArgs = []string{"-ef"}
			}
			out, err := exec.Command("ps", psArgs...).CombinedOutput()
			if err != nil {
				return fmt.Errorf("running ps %s: %w: %s", strings.Join(psArgs, " "), err, out)
			}
			return filterPs(os.Stdout, string(out), pids)
		},
	}
	// Everything after the container id belongs to ps: `ps ID -aux`.
	cmd.Flags().SetInterspersed(false)
	cmd.Flags().StringVarP(&format, "format", "f", "table", "table or json")
	return cmd
}

// filterPs copies ps's header line and the rows whose PID column is one of
// pids, as runc does.
func filterPs(w io.Writer, out string, pids []int) error {
	lines := strings.Split(out, "\n")
	col := slices.Index(strings.Fields(lines[0]), "PID")
	if col < 0 {
		return errors.New("ps output has no PID column")
	}
	fmt.Fprintln(w, lines[0])
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) <= col {
			continue
		}
		pid, err := strconv.Atoi(f[col])
		if err != nil {
			return fmt.Errorf("parsing pid in ps output %q: %w", line, err)
		}
		if slices.Contains(pids, pid) {
			fmt.Fprintln(w, line)
		}
	}
	return nil
}
