package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nook-containers/nook/internal/network"
)

// Container is the engine's record of one container: what was asked for
// (container.json, written once at create) and what happened (State,
// state.json, rewritten at every change).
type Container struct {
	ID      string     `json:"Id"`
	Name    string     `json:"Name"` // without Docker's leading "/"
	Created time.Time  `json:"Created"`
	Image   string     `json:"Image"`   // as the user named it, normalized
	ImageID string     `json:"ImageID"` // "" for --rootfs
	Rootfs  string     `json:"Rootfs,omitempty"`
	Path    string     `json:"Path"` // the program and its arguments, as Docker reports them
	Args    []string   `json:"Args"`
	Config  Config     `json:"Config"`
	Host    HostConfig `json:"HostConfig"`
	Mounts  []Mount    `json:"Mounts"`

	State State `json:"-"`
}

// Config is Docker's container Config: the parts of the image config the
// run flags may override.
type Config struct {
	Hostname     string              `json:"Hostname"`
	User         string              `json:"User"`
	Tty          bool                `json:"Tty"`
	OpenStdin    bool                `json:"OpenStdin"`
	Env          []string            `json:"Env"`
	Cmd          []string            `json:"Cmd"`
	Entrypoint   []string            `json:"Entrypoint"`
	Image        string              `json:"Image"`
	WorkingDir   string              `json:"WorkingDir"`
	Labels       map[string]string   `json:"Labels"`
	StopSignal   string              `json:"StopSignal,omitempty"`
	StopTimeout  *int                `json:"StopTimeout,omitempty"`
	ExposedPorts map[string]struct{} `json:"ExposedPorts,omitempty"`
}

// HostConfig is Docker's HostConfig: how the container runs on this host.
type HostConfig struct {
	Binds          []string          `json:"Binds"`
	NetworkMode    string            `json:"NetworkMode"`
	RestartPolicy  RestartPolicy     `json:"RestartPolicy"`
	AutoRemove     bool              `json:"AutoRemove"`
	CapAdd         []string          `json:"CapAdd"`
	CapDrop        []string          `json:"CapDrop"`
	Privileged     bool              `json:"Privileged"`
	ReadonlyRootfs bool              `json:"ReadonlyRootfs"`
	RootfsRW       bool              `json:"RootfsRW,omitempty"` // nook: --rootfs-rw
	SecurityOpt    []string          `json:"SecurityOpt"`
	Tmpfs          map[string]string `json:"Tmpfs"`
	Init           bool              `json:"Init"`
	LogConfig      LogConfig         `json:"LogConfig"`
	Memory         int64             `json:"Memory"`
	MemorySwap     int64             `json:"MemorySwap"`
	NanoCpus       int64             `json:"NanoCpus"`
	CPUShares      int64             `json:"CpuShares"`
	CpusetCpus     string            `json:"CpusetCpus"`
	PidsLimit      int64             `json:"PidsLimit"`
	Ulimits        []Ulimit          `json:"Ulimits"`
	// Networking beyond NetworkMode (the first network): more networks
	// to join, DNS aliases, a fixed address, published ports.
	ExtraNetworks []string              `json:"ExtraNetworks,omitempty"`
	Aliases       []string              `json:"Aliases,omitempty"`
	IP            string                `json:"IPAddress,omitempty"`
	PortBindings  []network.PortMapping `json:"PublishedPorts,omitempty"`
	PublishAll    bool                  `json:"PublishAllPorts"`
}

// RestartPolicy is --restart: Name is "no", "on-failure", "always" or
// "unless-stopped"; MaximumRetryCount bounds on-failure (0: no bound).
type RestartPolicy struct {
	Name              string `json:"Name"`
	MaximumRetryCount int    `json:"MaximumRetryCount"`
}

// LogConfig is --log-opt for nook's json-file log.
type LogConfig struct {
	Type   string            `json:"Type"`
	Config map[string]string `json:"Config"`
}

// Ulimit is one --ulimit.
type Ulimit struct {
	Name string `json:"Name"`
	Soft int64  `json:"Soft"`
	Hard int64  `json:"Hard"`
}

// Mount is one mount as `inspect` reports it.
type Mount struct {
	Type        string   `json:"Type"` // bind, volume, tmpfs
	Name        string   `json:"Name,omitempty"`
	Source      string   `json:"Source"`
	Destination string   `json:"Destination"`
	Mode        string   `json:"Mode"`
	RW          bool     `json:"RW"`
	Options     []string `json:"-"`
}

// Status values, as Docker's .State.Status.
const (
	StatusCreated    = "created"
	StatusRunning    = "running"
	StatusPaused     = "paused"
	StatusRestarting = "restarting"
	StatusExited     = "exited"
	StatusDead       = "dead"
)

// State is what happened to a container. The monitor writes it while it
// runs; stop, kill and rm write it when there is no monitor.
type State struct {
	Status       string    `json:"Status"`
	Pid          int       `json:"Pid"`
	PidStart     uint64    `json:"PidStart,omitempty"`
	MonitorPid   int       `json:"MonitorPid,omitempty"`
	MonitorStart uint64    `json:"MonitorStart,omitempty"`
	ExitCode     int       `json:"ExitCode"`
	Error        string    `json:"Error"`
	OOMKilled    bool      `json:"OOMKilled"`
	StartedAt    time.Time `json:"StartedAt"`
	FinishedAt   time.Time `json:"FinishedAt"`
	RestartCount int       `json:"RestartCount"`
	// StoppedByUser is set by stop and kill: the restart policy must not
	// bring the container back (Docker's "manually stopped").
	StoppedByUser bool `json:"StoppedByUser,omitempty"`
	// MonitorLost is set when the monitor is found dead while its
	// container's state says it was running.
	MonitorLost bool `json:"MonitorLost,omitempty"`
}

func (c *Container) dir(e *Engine) string { return e.containerDir(c.ID) }

// ShortID is the 12-character ID Docker prints.
func (c *Container) ShortID() string { return c.ID[:12] }

// writeJSON writes v to path atomically: a temp file in the same directory,
// renamed over path. durable fsyncs the file before the rename (~3 ms on a
// plain disk): for the container's record, what the user asked for. State
// and the bundle's config.json are written several times per run and are
// rebuilt from the kernel's facts (pids, start times) or regenerated after
// a crash, so they skip it; the rename alone keeps them whole (ext4's
// auto_da_alloc flushes a file renamed over another before the rename
// commits).
func writeJSON(path string, v any, durable bool) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if err == nil && durable {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// load reads container id's record and state.
func (e *Engine) load(id string) (*Container, error) {
	dir := e.containerDir(id)
	data, err := os.ReadFile(filepath.Join(dir, "container.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNoSuchContainer, id)
	} else if err != nil {
		return nil, err
	}
	c := &Container{}
	if err := json.Unmarshal(data, c); err != nil {
		return nil, fmt.Errorf("reading %s: %w", filepath.Join(dir, "container.json"), err)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "state.json")); err == nil {
		if err := json.Unmarshal(data, &c.State); err != nil {
			return nil, fmt.Errorf("reading %s: %w", filepath.Join(dir, "state.json"), err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	e.refresh(c)
	return c, nil
}

// refresh checks a running container's recorded processes against the
// kernel: a monitor that died while its container ran (SIGKILL, a crash)
// leaves state.json saying "running".
func (e *Engine) refresh(c *Container) {
	s := &c.State
	switch s.Status {
	case StatusRunning, StatusPaused, StatusRestarting:
	default:
		return
	}
	if s.MonitorPid == 0 || processAlive(s.MonitorPid, s.MonitorStart) {
		return
	}
	s.MonitorLost = true
	if s.Pid != 0 && processAlive(s.Pid, s.PidStart) {
		return // still running, unmonitored: ps says so
	}
	// Both gone: do the monitor's last duties now (network, mounts, the
	// runtime's state), as the next command after a crash should.
	e.finishOrphan(c)
	if s.Error == "" {
		s.Error = "monitor exited unexpectedly; exit code unknown"
	}
}

// saveState writes c.State. Callers hold c's lock (lockContainer).
func (e *Engine) saveState(c *Container) error {
	return writeJSON(filepath.Join(e.containerDir(c.ID), "state.json"), &c.State, false)
}

// lockContainer takes container id's own lock: writers of state.json hold
// it for their read-modify-write.
func (e *Engine) lockContainer(id string) (func(), error) {
	return flock(filepath.Join(e.containerDir(id), "lock"), unix.LOCK_EX)
}

// updateState applies f to the freshly read state of c under c's lock and
// saves it; c.State is updated too.
func (e *Engine) updateState(c *Container, f func(s *State)) error {
	unlock, err := e.lockContainer(c.ID)
	if err != nil {
		return err
	}
	defer unlock()
	if data, err := os.ReadFile(filepath.Join(e.containerDir(c.ID), "state.json")); err == nil {
		var s State
		if json.Unmarshal(data, &s) == nil {
			c.State = s
		}
	}
	f(&c.State)
	return e.saveState(c)
}

// List returns every container, newest first.
func (e *Engine) List() ([]*Container, error) {
	entries, err := os.ReadDir(filepath.Join(e.root, "containers"))
	if err != nil {
		return nil, err
	}
	var out []*Container
	for _, ent := range entries {
		if !ent.IsDir() {
			continue
		}
		c, err := e.load(ent.Name())
		if err != nil {
			continue // being created or removed right now
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, nil
}

// Get finds a container by name, full ID or unique ID prefix, as Docker.
func (e *Engine) Get(ref string) (*Container, error) {
	ref = strings.TrimPrefix(ref, "/")
	if ref == "" {
		return nil, fmt.Errorf("%w: %q", ErrNoSuchContainer, ref)
	}
	if len(ref) == 64 {
		if c, err := e.load(ref); err == nil {
			return c, nil
		}
	}
	all, err := e.List()
	if err != nil {
		return nil, err
	}
	for _, c := range all {
		if c.Name == ref {
			return c, nil
		}
	}
	var found *Container
	for _, c := range all {
		if strings.HasPrefix(c.ID, ref) {
			if found != nil {
				return nil, fmt.Errorf("multiple containers match %q", ref)
			}
			found = c
		}
	}
	if found == nil {
		return nil, fmt.Errorf("%w: %s", ErrNoSuchContainer, ref)
	}
	return found, nil
}
