package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/nook-containers/nook/internal/runtime"
)

func execCmd(g *globals) *cobra.Command {
	var (
		processFile, consoleSocket, pidFile, cwd, user string
		env, caps, gids                                []string
		tty, detach, noNewPrivs                        bool
		preserveFDs                                    int
	)
	cmd := &cobra.Command{
		Use:   "exec [flags] CONTAINER_ID [COMMAND [ARG...]]",
		Short: "run a process in a running container; exit with its status unless -d",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o := runtime.ExecOpts{
				Args: args[1:], Env: env, Cwd: cwd, Caps: caps, NoNewPrivs: noNewPrivs, Terminal: tty,
				ConsoleSocket: consoleSocket, Detach: detach, PreserveFDs: preserveFDs,
				Log: g.log, LogFile: g.logFile, Debug: g.debug, JSONLog: g.logFormat == "json",
			}
			if processFile != "" {
				p, err := readProcess(processFile)
				if err != nil {
					return err
				}
				o.Process = p
			} else if len(o.Args) == 0 {
				return errors.New("exec: a command is required (or --process FILE)")
			}
			if err := parseUser(user, &o); err != nil {
				return err
			}
			for _, s := range gids {
				gid, err := strconv.ParseUint(s, 10, 32)
				if err != nil {
					return fmt.Errorf("invalid --additional-gids %q", s)
				}
				o.AdditionalGids = append(o.AdditionalGids, uint32(gid))
			}
			// Signals are caught from the start (see run).
			sigs := catchSignals()
			if !detach {
				// nsenter forks into the container's pid namespace: the
				// process is our grandchild; be its reaper to wait for it.
				unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
			}
			c, err := runtime.Load(g.root, args[0])
			if err != nil {
				return err
			}
			// Every signal is caught before the process starts: none may
			// kill us instead of reaching it.
			sigs.allCaught()
			p, err := c.Exec(o)
			c.Close() // let state, kill and friends in while it runs
			if err != nil {
				return err
			}
			if err := writePidFile(pidFile, p.Pid); err != nil {
				unix.Kill(p.Pid, unix.SIGKILL)
				return err
			}
			if detach {
				return nil
			}
			if m := p.Console(); m != nil {
				term, err := runtime.AttachTerminal(m)
				if err != nil {
					unix.Kill(p.Pid, unix.SIGKILL)
					return err
				}
				defer term.Close()
			}
			stop := sigs.forward(p.Pid)
			status, err := p.Wait()
			stop()
			if err != nil {
				return err
			}
			if status != 0 {
				return exitStatus(status)
			}
			return nil
		},
	}
	// Everything after CONTAINER_ID is the command and its arguments.
	cmd.Flags().SetInterspersed(false)
	fl := cmd.Flags()
	fl.StringVarP(&processFile, "process", "p", "", "a JSON file with the process to run (the OCI spec's process)")
	fl.BoolVarP(&tty, "tty", "t", false, "allocate a pseudo-terminal")
	fl.StringVar(&consoleSocket, "console-socket", "", "unix socket that receives the pty master (with -t)")
	fl.BoolVarP(&detach, "detach", "d", false, "do not wait for the process")
	fl.StringVar(&pidFile, "pid-file", "", "write the process's pid to this file")
	fl.StringVar(&cwd, "cwd", "", "working directory in the container")
	fl.StringArrayVarP(&env, "env", "e", nil, "set an environment variable (KEY=VALUE)")
	fl.StringVarP(&user, "user", "u", "", "uid[:gid] to run as")
	fl.StringArrayVarP(&gids, "additional-gids", "g", nil, "an additional group id")
	fl.StringArrayVarP(&caps, "cap", "c", nil, "add a capability (CAP_...)")
	fl.BoolVar(&noNewPrivs, "no-new-privs", false, "set no_new_privs for the process")
	fl.IntVar(&preserveFDs, "preserve-fds", 0, "pass this many fds after stderr to the process")
	fl.String("process-label", "", "ignored: SELinux is not supported")
	fl.String("apparmor", "", "ignored: AppArmor is not supported")
	fl.Bool("ignore-paused", false, "ignored, for runc compatibility")
	fl.String("cgroup", "", "ignored, for runc compatibility")
	return cmd
}

// readProcess reads an OCI process (--process FILE).
func readProcess(path string) (*specs.Process, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the process file: %w", err)
	}
	var p specs.Process
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	return &p, nil
}

// parseUser reads --user uid[:gid] (numeric, like runc).
func parseUser(s string, o *runtime.ExecOpts) error {
	if s == "" {
		return nil
	}
	us, gs, hasGID := strings.Cut(s, ":")
	uid, err := strconv.ParseUint(us, 10, 32)
	if err != nil {
		return fmt.Errorf("invalid --user %q: want uid[:gid]", s)
	}
	u := uint32(uid)
	o.UID = &u
	if hasGID {
		gid, err := strconv.ParseUint(gs, 10, 32)
		if err != nil {
			return fmt.Errorf("invalid --user %q: want uid[:gid]", s)
		}
		g := uint32(gid)
		o.GID = &g
	}
	return nil
}
