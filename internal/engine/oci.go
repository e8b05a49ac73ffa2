package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nook-containers/nook/internal/runtime"
)

// stdio are a process's stdin, stdout and stderr; nil entries are the
// caller's own.
type stdio [3]*os.File

// ociProcess is a container's init or an exec'd process started by an
// ociRuntime.
type ociProcess struct {
	Pid int
	// Console is the pty master when the process has a terminal.
	Console *os.File
	wait    func() (int, error)
}

// Wait waits for the process and returns its exit status (128+N when
// killed by signal N).
func (p *ociProcess) Wait() (int, error) { return p.wait() }

// ociRuntime is what the engine needs of an OCI runtime: nook's own core
// in process (builtinRuntime) or a runc-compatible binary (externalRuntime,
// --runtime). Both are driven the same way, so either can be tested against
// the other.
//
// create must be called by the process that will wait for the container
// (the monitor): it must have made itself a child subreaper, since the
// container's init may be its grandchild.
type ociRuntime interface {
	// spec is bundle/config.json, as written: a runtime in this process
	// need not read it back.
	create(id, bundle string, spec *specs.Spec, io stdio, tty bool) (*ociProcess, error)
	start(id string) error
	kill(id string, sig unix.Signal, all bool) error
	// delete removes the runtime's state and the cgroup; a container that
	// does not exist is not an error.
	delete(id string, force bool) error
	exec(id string, p *specs.Process, io stdio, detach bool) (*ociProcess, error)
	pause(id string) error
	resume(id string) error
	pids(id string) ([]int, error)
}

var processAlive = runtime.ProcessAlive

// builtinRuntime drives internal/runtime in this process: no second binary,
// no fork+exec of a runtime per step.
type builtinRuntime struct {
	root string
	log  *slog.Logger
	// initBinary is runtime.CreateOpts.InitBinary.
	initBinary string
	// created is the container create made in this process; start needs
	// the same handle (it holds the init's exec.Cmd, for Wait).
	created *runtime.Container
}

func (b *builtinRuntime) create(id, bundle string, spec *specs.Spec, io stdio, tty bool) (*ociProcess, error) {
	c, err := runtime.Create(b.root, id, runtime.CreateOpts{Bundle: bundle, Spec: spec, InitBinary: b.initBinary, Log: b.log, AttachConsole: tty, Stdio: io})
	if err != nil {
		return nil, err
	}
	b.created = c
	return &ociProcess{Pid: c.Pid(), Console: c.Console(), wait: c.Wait}, nil
}

func (b *builtinRuntime) start(id string) error {
	c := b.created
	if c == nil || c.ID != id {
		return fmt.Errorf("starting %s: not created by this process", id)
	}
	b.created = nil
	defer c.Close() // unlock: stop, exec and ps need the container while it runs
	if err := c.Start(b.log); err != nil {
		c.Delete(true, b.log)
		return err
	}
	return nil
}

// with runs f on the loaded (locked) container id.
func (b *builtinRuntime) with(id string, f func(c *runtime.Container) error) error {
	c, err := runtime.Load(b.root, id)
	if err != nil {
		return err
	}
	defer c.Close()
	return f(c)
}

func (b *builtinRuntime) kill(id string, sig unix.Signal, all bool) error {
	return b.with(id, func(c *runtime.Container) error { return c.Kill(sig, all, b.log) })
}

func (b *builtinRuntime) delete(id string, force bool) error {
	err := b.with(id, func(c *runtime.Container) error { return c.Delete(force, b.log) })
	if errors.Is(err, runtime.ErrNotFound) {
		return nil
	}
	return err
}

func (b *builtinRuntime) pause(id string) error {
	return b.with(id, func(c *runtime.Container) error { return c.Pause(b.log) })
}

func (b *builtinRuntime) resume(id string) error {
	return b.with(id, func(c *runtime.Container) error { return c.Resume(b.log) })
}

func (b *builtinRuntime) pids(id string) (pids []int, err error) {
	err = b.with(id, func(c *runtime.Container) error {
		pids, err = c.Processes(b.log)
		return err
	})
	return pids, err
}

func (b *builtinRuntime) exec(id string, p *specs.Process, io stdio, detach bool) (*ociProcess, error) {
	var proc *runtime.ExecProcess
	err := b.with(id, func(c *runtime.Container) error {
		var err error
		proc, err = c.Exec(runtime.ExecOpts{Process: p, Terminal: p.Terminal, Detach: detach, Stdio: io, Log: b.log})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &ociProcess{Pid: proc.Pid, Console: proc.Console(), wait: proc.Wait}, nil
}
