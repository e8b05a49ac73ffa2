package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/nook-containers/nook/internal/runtime"
)

// createFlags are the flags create and run share.
type createFlags struct {
	bundle        string
	pidFile       string
	consoleSocket string
	noPivot       bool
	noNewKeyring  bool
	preserveFDs   int
}

func (f *createFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVarP(&f.bundle, "bundle", "b", ".", "path to the bundle directory")
	fl.StringVar(&f.pidFile, "pid-file", "", "write the container's init pid to this file")
	fl.StringVar(&f.consoleSocket, "console-socket", "", "unix socket that receives the pty master (terminal=true)")
	fl.BoolVar(&f.noPivot, "no-pivot", false, "use MS_MOVE+chroot instead of pivot_root (ramfs roots)")
	fl.BoolVar(&f.noNewKeyring, "no-new-keyring", false, "do not create a new session keyring")
	fl.IntVar(&f.preserveFDs, "preserve-fds", 0, "pass this many fds after stderr to the program")
}

// create makes the container. attach (a foreground run) lets the runtime
// relay a terminal itself when there is no --console-socket.
func (f *createFlags) create(g *globals, id string, attach bool) (*runtime.Container, error) {
	if f.preserveFDs < 0 {
		return nil, errors.New("--preserve-fds must not be negative")
	}
	// The id first (runc checks config.json first; either way it is an
	// error, and a bad id is the more useful one to hear about).
	if err := runtime.ValidateID(id); err != nil {
		return nil, err
	}
	if err := checkBundle(f.bundle); err != nil {
		return nil, err
	}
	return runtime.Create(g.root, id, runtime.CreateOpts{
		Bundle: f.bundle, PreserveFDs: f.preserveFDs, NoPivot: f.noPivot, NoNewKeyring: f.noNewKeyring,
		Log: g.log, LogFile: g.logFile, Debug: g.debug, JSONLog: g.logFormat == "json",
		ConsoleSocket: f.consoleSocket, AttachConsole: attach, SystemdCgroup: g.systemdCgroup,
	})
}

// checkBundle says what runc says when the bundle or its config.json is
// missing. The wording matters: Podman reads "no such file or directory" in
// a runtime's error as "the program was not found" (exit 127), and runc
// says it only for a missing bundle directory.
func checkBundle(bundle string) error {
	if _, err := os.Stat(bundle); err != nil {
		return fmt.Errorf("chdir %s: %w", bundle, errors.Unwrap(err))
	}
	if _, err := os.Stat(filepath.Join(bundle, "config.json")); errors.Is(err, fs.ErrNotExist) {
		return errors.New("JSON specification file config.json not found")
	}
	return nil
}

// writePidFile writes pid atomically: a reader never sees a partial file.
func writePidFile(path string, pid int) error {
	if path == "" {
		return nil
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func createCmd(g *globals) *cobra.Command {
	f := &createFlags{}
	cmd := &cobra.Command{
		Use:   "create [flags] CONTAINER_ID",
		Short: "create a container from a bundle; its program waits for start",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.create(g, args[0], false)
			if err != nil {
				return err
			}
			defer c.Close()
			if err := writePidFile(f.pidFile, c.Pid()); err != nil {
				c.Delete(true, g.log)
				return err
			}
			return nil
		},
	}
	f.register(cmd)
	return cmd
}
