// Command nook is a daemonless, Docker-like container engine: it pulls
// images, keeps containers' records on disk and runs them through nook's
// runtime core in process (or any OCI runtime binary with --runtime). It is
// a thin layer over internal/engine: parse Docker's flags, call the engine,
// print what Docker prints.
package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	goruntime "runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nook-containers/nook/internal/engine"
	"github.com/nook-containers/nook/internal/runtime"
	"github.com/nook-containers/nook/internal/runtime/initproc"
	// Joining a user or time namespace happens in this package's C
	// constructor, before the Go runtime starts threads.
	_ "github.com/nook-containers/nook/internal/runtime/nsenter"
)

// Set by the linker: -X main.version=... -X main.commit=...
var (
	version = "0.1.0-dev"
	commit  = "unknown"
)

func init() {
	// As a container's init (the runtime core re-executes this binary),
	// stay on the main OS thread from the start.
	if len(os.Args) > 1 && os.Args[1] == "init" {
		goruntime.GOMAXPROCS(1)
		goruntime.LockOSThread()
	}
}

// globals are the flags every command takes.
type globals struct {
	root     string
	logLevel string
	runtime  string
	insecure []string // --insecure-registry
	log      *slog.Logger
	eng      *engine.Engine
}

// engine opens the engine on first use.
func (g *globals) engine() (*engine.Engine, error) {
	if g.eng != nil {
		return g.eng, nil
	}
	e, err := engine.Open(engine.Options{Root: g.root, Runtime: g.runtime, Log: g.log, LogLevel: g.logLevel, InitBinary: initBinary()})
	if err != nil {
		return nil, err
	}
	g.eng = e
	return e, nil
}

func main() {
	switch {
	case len(os.Args) > 1 && os.Args[1] == "init":
		initproc.Main()
		return
	case len(os.Args) > 1 && strings.HasSuffix(os.Args[0], "/dev/init") && os.Args[1] == "--":
		os.Exit(reaper(os.Args[2:]))
	}
	g := &globals{}
	cmd := newRootCmd(g, os.Args[1:])
	err := cmd.Execute()
	if err == nil {
		return
	}
	var st exitStatus
	if errors.As(err, &st) {
		os.Exit(int(st))
	}
	fmt.Fprintln(os.Stderr, "nook:", err)
	os.Exit(runtime.ExitCode(err))
}

// exitStatus is a command's exit code that is not an error: the
// container's own status (run, start -a, exec, wait).
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// status turns an exit code into the command's result.
func status(code int) error {
	if code == 0 {
		return nil
	}
	return exitStatus(code)
}

// newRootCmd builds nook's commands for args (the command line without the
// program name).
func newRootCmd(g *globals, args []string) *cobra.Command {
	root := &cobra.Command{
		Use:           "nook",
		Short:         "a daemonless container engine",
		Version:       version,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			level := slog.LevelWarn
			switch g.logLevel {
			case "debug":
				level = slog.LevelDebug
			case "info":
				level = slog.LevelInfo
			case "warn", "warning", "":
			case "error":
				level = slog.LevelError
			default:
				return fmt.Errorf("invalid --log-level %q: want debug, info, warn or error", g.logLevel)
			}
			g.log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
			return nil
		},
	}
	root.SetVersionTemplate(fmt.Sprintf("nook version %s\ncommit: %s\n", version, commit))
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())
	})
	f := root.PersistentFlags()
	f.StringVar(&g.root, "root", envOr("NOOK_ROOT", "/var/lib/nook"), "where images, containers and volumes live")
	f.StringVar(&g.logLevel, "log-level", "warn", "debug, info, warn or error")
	f.StringVar(&g.runtime, "runtime", "", "an OCI runtime binary (runc, crun) to use instead of nook's own")
	f.StringArrayVar(&g.insecure, "insecure-registry", splitEnv("NOOK_INSECURE_REGISTRIES"),
		"HOST[:PORT] to reach over plain http or without checking its certificate (loopback always is)")
	if len(args) > 0 && args[0] == engine.MonitorArg {
		// The monitor the engine starts names itself first (see
		// engine.monitorArgs): registering every other command's flags
		// would cost each container start ~1 ms.
		root.AddCommand(monitorCmd(g))
		return root
	}
	root.AddCommand(
		runCmd(g), createCmd(g), startCmd(g), stopCmd(g), killCmd(g), restartCmd(g), rmCmd(g),
		psCmd(g), logsCmd(g), execCmd(g), inspectCmd(g), statsCmd(g), topCmd(g), waitCmd(g),
		pauseCmd(g), unpauseCmd(g), cpCmd(g), containerCmd(g),
		pullCmd(g), pushCmd(g), imagesCmd(g), rmiCmd(g), tagCmd(g), historyCmd(g), importCmd(g),
		saveCmd(g), loadCmd(g), imageCmd(g), volumeCmd(g), networkCmd(g), portCmd(g), systemCmd(g),
		versionCmd(), monitorCmd(g), dnsServerCmd(g),
	)
	return root
}

// splitEnv reads a comma-separated list from the environment.
func splitEnv(k string) []string {
	if v := os.Getenv(k); v != "" {
		return strings.Split(v, ",")
	}
	return nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
