package engine

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nook-containers/nook/internal/runtime"
)

// ExecOptions are `nook exec` flags.
type ExecOptions struct {
	Cmd         []string
	Env         []string
	User        string
	WorkingDir  string
	Tty         bool
	Interactive bool
	Detach      bool
	Privileged  bool
}

// Exec runs a process in a running container and returns its exit code:
// the container's environment, user and capabilities unless overridden,
// its namespaces, cgroup and seccomp profile.
func (e *Engine) Exec(c *Container, o ExecOptions) (int, error) {
	if c.State.Status != StatusRunning {
		if c.State.Status == StatusPaused {
			return 125, fmt.Errorf("container %s is paused, unpause it first", c.Name)
		}
		return 125, fmt.Errorf("container %s is not running", c.Name)
	}
	if len(o.Cmd) == 0 {
		return 125, fmt.Errorf("exec needs a command")
	}
	spec, err := runtime.LoadSpec(filepath.Join(c.dir(e), "bundle"))
	if err != nil {
		return 125, err
	}
	p := *spec.Process
	p.Args = o.Cmd
	p.Terminal = o.Tty
	p.Env = mergeEnv(p.Env, o.Env)
	if o.Tty && !hasEnv(p.Env, "TERM") {
		p.Env = append(p.Env, "TERM=xterm")
	}
	if o.WorkingDir != "" {
		p.Cwd = cwdOr(o.WorkingDir)
	}
	if o.User != "" {
		u, err := resolveUser(spec.Root.Path, o.User)
		if err != nil {
			return 125, err
		}
		p.User = u.User
	}
	if o.Privileged {
		all := capabilities(&HostConfig{Privileged: true})
		p.Capabilities = &specs.LinuxCapabilities{Bounding: all, Effective: all, Permitted: all}
	}
	p.ConsoleSize = nil
	var io stdio
	if !o.Interactive || o.Detach {
		devnull, err := os.Open(os.DevNull)
		if err != nil {
			return 125, err
		}
		defer devnull.Close()
		io[0] = devnull
	}
	if o.Detach {
		io[1], io[2] = io[0], io[0]
	}
	// The exec'd process may be our grandchild (nsenter forks into the
	// container's pid namespace).
	unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	proc, err := e.rt.exec(c.ID, &p, io, o.Detach)
	if err != nil {
		return runtime.ExitCode(err), err
	}
	if o.Detach {
		return 0, nil
	}
	if proc.Console != nil {
		defer proc.Console.Close()
		t, err := runtime.AttachTerminal(proc.Console)
		if err != nil {
			return 125, err
		}
		code, err := proc.Wait()
		t.Close()
		return code, err
	}
	sigc := make(chan os.Signal, 8)
	signal.Notify(sigc, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT)
	defer signal.Stop(sigc)
	go func() {
		for s := range sigc {
			unix.Kill(proc.Pid, s.(unix.Signal))
		}
	}()
	return proc.Wait()
}
