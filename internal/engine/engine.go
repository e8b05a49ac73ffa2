package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/nook-containers/nook/internal/image"
	"github.com/nook-containers/nook/internal/network"
	"github.com/nook-containers/nook/internal/runtime/cgroups"
)

// Errors callers branch on. Messages read well after "nook: ".
var (
	ErrNoSuchContainer = errors.New("no such container")
	ErrNameInUse       = errors.New("name already in use")
	ErrNotRunning      = errors.New("container is not running")
	ErrRunning         = errors.New("container is running")
)

// Options configure an Engine.
type Options struct {
	// Root holds images, containers and volumes (default /var/lib/nook).
	Root string
	// Runtime, when set, is an OCI runtime binary (runc, crun,
	// nook-runtime) used instead of nook's built-in runtime core.
	Runtime string
	Log     *slog.Logger
	// LogLevel is passed on to the monitors (their log is the
	// container's monitor.log, or the attached client's stderr).
	LogLevel string
	// Exe is the nook binary to re-execute as a container's monitor
	// (default /proc/self/exe resolved at Open).
	Exe string
	// InitBinary is the binary containers' inits run from, when not this
	// one: a nook-runtime of the same build (see cmd/nook's initBinary).
	InitBinary string
}

// Engine is nook's engine over one root directory.
type Engine struct {
	root    string
	exe     string
	log     *slog.Logger
	rt      ociRuntime
	runtime string // Options.Runtime
	level   string // Options.LogLevel
	images  *image.Store
	net     *network.Manager
}

// Open prepares the root (creating it) and the image store.
func Open(o Options) (*Engine, error) {
	if o.Root == "" {
		o.Root = "/var/lib/nook"
	}
	root, err := filepath.Abs(o.Root)
	if err != nil {
		return nil, err
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	for _, d := range []string{"containers", "volumes", "runtime"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o711); err != nil {
			return nil, fmt.Errorf("making %s: %w", filepath.Join(root, d), err)
		}
	}
	exe := o.Exe
	if exe == "" {
		if exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("finding the nook binary: %w", err)
		}
	}
	e := &Engine{root: root, exe: exe, log: o.Log, runtime: o.Runtime, level: o.LogLevel}
	if o.Runtime != "" {
		e.rt = &externalRuntime{bin: o.Runtime, root: filepath.Join(root, "runtime", filepath.Base(o.Runtime)), log: o.Log}
	} else {
		e.rt = &builtinRuntime{root: filepath.Join(root, "runtime", "nook"), log: o.Log, initBinary: o.InitBinary}
	}
	return e, nil
}

// Images returns the image store, opened on first use (commands that only
// look at containers do not pay for it).
func (e *Engine) Images() (*image.Store, error) {
	if e.images != nil {
		return e.images, nil
	}
	s, err := image.Open(filepath.Join(e.root, "image"), e.log)
	if err != nil {
		return nil, err
	}
	e.images = s
	return s, nil
}

// Root returns the engine's root directory.
func (e *Engine) Root() string { return e.root }

// containerDir is where container id's files live.
func (e *Engine) containerDir(id string) string { return filepath.Join(e.root, "containers", id) }

// lock takes the engine-wide lock (name allocation, removal). Unlock by
// calling the returned function.
func (e *Engine) lock() (func(), error) {
	return flock(filepath.Join(e.root, "engine.lock"), unix.LOCK_EX)
}

// flock opens (creating) path and locks it with how (LOCK_EX or LOCK_SH).
func flock(path string, how int) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

// Reset removes everything: every container (killed), nook's networks and
// their rules, images and volumes, and the root itself.
func (e *Engine) Reset() error {
	all, err := e.List()
	if err != nil {
		return err
	}
	for _, c := range all {
		if err := e.Remove(c, true); err != nil {
			return err
		}
	}
	if m, err := e.Network(); err == nil {
		if err := m.Reset(); err != nil {
			return err
		}
	}
	return os.RemoveAll(e.root)
}

// Info describes the host as nook sees it.
func (e *Engine) Info() []string {
	rt := "nook (built in)"
	if e.runtime != "" {
		rt = e.runtime
	}
	return []string{
		"Root: " + e.root,
		"Runtime: " + rt,
		"Cgroups: " + cgroups.DetectMode().String(),
		"Storage: overlay (copy when overlayfs is unavailable)",
	}
}
