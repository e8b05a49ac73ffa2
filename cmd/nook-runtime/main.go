// Command nook-runtime is an OCI runtime with runc's command line: containerd,
// Podman and Docker can drive it as they drive runc. It is a thin layer over
// internal/runtime: parse flags, call the core, print what runc prints.
package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	goruntime "runtime"

	"github.com/spf13/cobra"

	"github.com/nook-containers/nook/internal/runtime"
	"github.com/nook-containers/nook/internal/runtime/initproc"
	// Joining a user or time namespace happens in this package's C
	// constructor, before the Go runtime starts threads.
	_ "github.com/nook-containers/nook/internal/runtime/nsenter"
	"github.com/nook-containers/nook/internal/runtime/tracelog"
)

// Set by the linker: -X main.version=... -X main.commit=...
var (
	version = "0.1.0-dev"
	commit  = "unknown"
)

func init() {
	// As the container's init, stay on the main OS thread from the start:
	// namespaces, credentials and capabilities are per-thread, and execve
	// happens from this thread.
	if len(os.Args) > 1 && os.Args[1] == "init" {
		goruntime.GOMAXPROCS(1)
		goruntime.LockOSThread()
	}
}

// globals are runc's global flags.
type globals struct {
	root          string
	logPath       string
	logFormat     string
	debug         bool
	logLevel      string
	systemdCgroup bool
	log           *slog.Logger
	logFile       *os.File
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		initproc.Main()
		return
	}
	g := &globals{}
	cmd := newRootCmd(g)
	err := cmd.Execute()
	if err == nil {
		return
	}
	var st exitStatus
	if errors.As(err, &st) {
		os.Exit(int(st))
	}
	if g.log != nil && g.logPath != "" {
		g.log.Error(err.Error())
	}
	fmt.Fprintf(os.Stderr, "nook-runtime: %v\n", err)
	os.Exit(runtime.ExitCode(err))
}

// exitStatus is how run passes the container's exit status to main.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func newRootCmd(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:           "nook-runtime",
		Short:         "an OCI container runtime with runc's command line",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return g.setup()
		},
	}
	root.SetVersionTemplate(versionText())
	f := root.PersistentFlags()
	f.StringVar(&g.root, "root", defaultRoot(), "directory for container state")
	f.StringVar(&g.logPath, "log", "", "log file (default: stderr)")
	f.StringVar(&g.logFormat, "log-format", "text", "log format: text or json")
	f.BoolVar(&g.debug, "debug", false, "trace every kernel-level step (same as --log-level debug)")
	f.StringVar(&g.logLevel, "log-level", "warn", "debug, info, warn or error")
	f.BoolVar(&g.systemdCgroup, "systemd-cgroup", false, "use systemd for cgroups (cgroupsPath as slice:prefix:name)")
	f.String("criu", "criu", "ignored, for runc compatibility")
	f.String("rootless", "auto", "ignored, for runc compatibility")
	f.MarkHidden("criu")
	root.AddCommand(createCmd(g), startCmd(g), runCmd(g), stateCmd(g), killCmd(g),
		deleteCmd(g), listCmd(g), specCmd(g), versionCmd(), psCmd(g), pauseCmd(g), resumeCmd(g), updateCmd(g), eventsCmd(g), featuresCmd())
	root.AddCommand(execCmd(g))
	return root
}

// defaultRoot is --root's default: as with runc, an unprivileged user's
// state goes under $XDG_RUNTIME_DIR, a directory of their own.
func defaultRoot() string {
	if dir := os.Getenv("XDG_RUNTIME_DIR"); dir != "" && os.Geteuid() != 0 {
		return filepath.Join(dir, "nook-runtime")
	}
	return runtime.DefaultRoot
}

// setup opens the log and builds the logger every command uses.
func (g *globals) setup() error {
	if g.logFormat != "text" && g.logFormat != "json" {
		return fmt.Errorf("invalid --log-format %q: want text or json", g.logFormat)
	}
	g.logFile = os.Stderr
	if g.logPath != "" {
		f, err := os.OpenFile(g.logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_SYNC, 0o644)
		if err != nil {
			return fmt.Errorf("opening log file: %w", err)
		}
		g.logFile = f
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
		return fmt.Errorf("invalid --log-level %q: want debug, info, warn or error", g.logLevel)
	}
	if level <= slog.LevelDebug {
		g.debug = true
	}
	if g.debug {
		level = slog.LevelDebug
	}
	g.log = slog.New(tracelog.New(g.logFile, level, g.logFormat == "json")).With("pid", os.Getpid(), "in", "nook-runtime")
	return nil
}

func versionText() string {
	return fmt.Sprintf("nook-runtime version %s\ncommit: %s\nspec: %s\ngo: %s\n", version, commit, specVersion, goruntime.Version())
}

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "print the version",
		Args:  cobra.NoArgs,
		Run:   func(cmd *cobra.Command, args []string) { fmt.Print(versionText()) },
	}
}

// withContainer loads container id under --root, holding its lock while fn
// runs: what every one-container command does.
func withContainer(g *globals, id string, fn func(c *runtime.Container) error) error {
	c, err := runtime.Load(g.root, id)
	if err != nil {
		return err
	}
	defer c.Close()
	return fn(c)
}
