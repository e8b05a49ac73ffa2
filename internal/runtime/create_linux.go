package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nook-containers/nook/internal/runtime/cgroups"
	"github.com/nook-containers/nook/internal/runtime/hooks"
	"github.com/nook-containers/nook/internal/runtime/initproc"
	"github.com/nook-containers/nook/internal/runtime/seccomp"
)

// CreateOpts are create's options beyond the bundle.
type CreateOpts struct {
	// Bundle is the bundle directory holding config.json.
	Bundle string
	// InitBinary, when set, is the binary init runs from instead of the
	// running one: a build of the same source whose `init` is this one's
	// (the engine passes nook-runtime, 9 MB, rather than itself, 17 MB:
	// ~2 ms less of init's start-up). It is sealed the same way.
	InitBinary string
	// Spec, when set, is bundle/config.json already parsed by the caller
	// (the engine, which has just written it): it is validated, not read
	// again (a cold JSON decode of a spec costs ~1.5 ms of the start).
	Spec *specs.Spec
	// PreserveFDs passes fds 3 .. 3+PreserveFDs-1 on to the program.
	PreserveFDs int
	// NoPivot uses MS_MOVE + chroot instead of pivot_root.
	NoPivot bool
	// NoNewKeyring keeps the caller's session keyring instead of giving
	// the container one of its own.
	NoNewKeyring bool
	// Log receives the trace; LogFile, when set, is where init writes its
	// own trace lines (the runtime's --log destination).
	Log     *slog.Logger
	LogFile *os.File
	Debug   bool
	JSONLog bool
	// ConsoleSocket is --console-socket: the unix socket that receives the
	// pty master when process.terminal is true.
	ConsoleSocket string
	// AttachConsole is set by a foreground run: with process.terminal and
	// no ConsoleSocket, the master comes to this process (Container.Console).
	AttachConsole bool
	// SystemdCgroup makes the container's cgroup a transient systemd unit
	// (--systemd-cgroup; linux.cgroupsPath as "slice:prefix:name").
	SystemdCgroup bool
	// Stdio is the init's stdin, stdout and stderr; a nil entry is ours
	// (os.Stdin, os.Stdout, os.Stderr). An engine's monitor passes pipes.
	Stdio [3]*os.File

	console *os.File // the socket handed to init; see consoleSockets
	// idmapped are the detached idmapped mounts for init, by mount index;
	// see idmapSources.
	idmapped map[int]*os.File
}

// LoadSpec reads and validates bundle/config.json.
func LoadSpec(bundle string) (*specs.Spec, error) {
	data, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("reading config.json: %w", err)
	}
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", filepath.Join(bundle, "config.json"), err)
	}
	if err := Validate(&s); err != nil {
		return nil, err
	}
	return &s, nil
}

// Create makes container id from the bundle and leaves it "created": init
// has built the container and waits for Start. On any error nothing is left
// behind: no state dir, no cgroup, no process. The returned container is
// locked; the caller must Close it.
func Create(root, id string, o CreateOpts) (c *Container, err error) {
	log := o.Log
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	bundle, err := filepath.Abs(o.Bundle)
	if err != nil {
		return nil, err
	}
	// Unless init is cloned straight into its cgroup (v2, see below), a
	// cgroup.procs write comes: its grace period can pass meanwhile. On v1
	// that is known before the spec is read, which takes a millisecond or
	// two of the grace period's 6-16.
	warmed := func() {}
	defer func() { warmed() }()
	if !isRootless() && cgroups.DetectMode() != cgroups.Unified {
		warmed = cgroups.WarmAttach(log)
	}
	spec := o.Spec
	if spec == nil {
		spec, err = LoadSpec(bundle)
	} else {
		err = Validate(spec)
	}
	if err != nil {
		return nil, err
	}
	if !isRootless() && cgroups.DetectMode() == cgroups.Unified && (memoryLimited(spec.Linux) || o.SystemdCgroup) {
		warmed = cgroups.WarmAttach(log)
	}
	rootfs := spec.Root.Path
	if !filepath.IsAbs(rootfs) {
		rootfs = filepath.Join(bundle, rootfs)
	}
	if st, err := os.Stat(rootfs); err != nil {
		return nil, fmt.Errorf("rootfs: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("rootfs %s: not a directory", rootfs)
	}
	// process.terminal: the socket the init sends its pty master to.
	var consoleLocal *os.File
	o.console, consoleLocal, err = consoleSockets(spec.Process.Terminal, o.ConsoleSocket, o.AttachConsole)
	if err != nil {
		return nil, err
	}
	if o.console != nil {
		defer o.console.Close()
	}
	if consoleLocal != nil {
		defer consoleLocal.Close()
	}
	if err := checkLSM(spec); err != nil {
		return nil, err
	}
	if err := checkRootless(spec.Linux); err != nil {
		return nil, err
	}
	// The filter is built now, so that a bad profile is a create-time
	// error before anything exists, and init only has to load it.
	var filter *seccomp.Program
	if spec.Linux.Seccomp != nil {
		if filter, err = seccomp.Build(spec.Linux.Seccomp, seccompCache(root), log); err != nil {
			return nil, fmt.Errorf("config.json: linux.seccomp: %w", err)
		}
	}

	// Idmapped mounts are made before anything exists: a bad mapping
	// leaves nothing behind.
	if o.idmapped, err = idmapSources(spec, bundle, log); err != nil {
		return nil, err
	}
	defer closeFiles(o.idmapped)

	if err := os.MkdirAll(root, 0o711); err != nil {
		return nil, fmt.Errorf("making state root: %w", err)
	}
	dir := dirOf(root, id)
	if err := os.Mkdir(dir, 0o711); errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("container %q %w", id, ErrExists)
	} else if err != nil {
		return nil, fmt.Errorf("making state dir: %w", err)
	}
	// The dir must be searchable by the container's user: init opens
	// exec.fifo through it after dropping privileges.
	os.Chmod(dir, 0o711)
	lock, err := lockDir(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	ctr := &Container{ID: id, dir: dir, lock: lock}
	c = ctr
	c.State = State{
		State: specs.State{
			Version: specs.Version, ID: id, Status: specs.StateCreating,
			Bundle: bundle, Annotations: spec.Annotations,
		},
		Rootfs:          rootfs,
		CgroupsPath:     spec.Linux.CgroupsPath,
		Systemd:         o.SystemdCgroup,
		Hooks:           spec.Hooks,
		OwnPIDNamespace: ownsNamespace(spec.Linux, specs.PIDNamespace),
		Owner:           os.Getuid(),
	}
	var cg cgroups.Manager
	var cmd *exec.Cmd
	var initPid int // differs from cmd's pid when nsenter forked
	defer func() {
		if err == nil {
			return
		}
		if cmd != nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		if initPid != 0 {
			unix.Kill(initPid, unix.SIGKILL)
		}
		if cg != nil {
			if derr := cg.Destroy(); derr != nil {
				log.Warn("removing cgroup after failed create", "error", derr)
			}
		}
		os.RemoveAll(dir)
		ctr.Close()
	}()
	if err := c.save(); err != nil {
		return nil, err
	}

	cg, err = newCgroup(spec.Linux.CgroupsPath, id, o.SystemdCgroup, log)
	if err != nil {
		return nil, err
	}
	fifo := filepath.Join(dir, fifoName)
	if err := unix.Mkfifo(fifo, 0o622); err != nil {
		return nil, fmt.Errorf("making exec fifo: %w", err)
	}
	if err := os.Chmod(fifo, 0o622); err != nil { // the umask may have narrowed it
		return nil, err
	}
	// Where init enters its cgroup. Without a memory limit on v2 it is
	// cloned straight into it: no cgroup.procs write to pay for (a systemd
	// unit starts with init in it instead: there is no directory yet).
	// Otherwise it is started before the cgroup is made and moved in after:
	// making the cgroup waits out the grace period the warm-up above pays
	// (the writer holds cgroup_mutex, which mkdir needs), and init's start-up
	// (clone, execve, Go runtime, ~5 ms) is better spent inside that wait.
	// With a memory limit, init asks to join once its Go runtime is up, so
	// that the limit counts the container's memory, not the runtime's (see
	// initproc.MsgJoinCgroup). Init does nothing in the container before its
	// bootstrap, sent once it is in the cgroup.
	late := memoryLimited(spec.Linux)
	intoCgroup := cgroups.DetectMode() == cgroups.Unified && !late && !o.SystemdCgroup
	var p *initProcess
	if !intoCgroup {
		if p, err = startInit(spec, dir, "", o, log); err != nil {
			return nil, err
		}
		cmd, initPid = p.cmd, p.pid
		defer p.sock.Close()
	}
	// The device rules wait until init is started when they can: on v2
	// they are an eBPF program, and loading it (the verifier, the library's
	// feature probes) takes a millisecond or two, better spent while init's
	// Go runtime starts. Init does nothing in the container before its
	// bootstrap, which is sent only once the rules are in place. Rootless,
	// a failure to apply them decides whether there is a cgroup at all, so
	// they come with the rest; a systemd unit may start only after init
	// has asked to join it (MsgJoinCgroup), so they come with the unit.
	res, devices := effectiveResources(spec.Linux), (*specs.LinuxResources)(nil)
	if !isRootless() && !o.SystemdCgroup {
		devices = &specs.LinuxResources{Devices: res.Devices}
		r := *res
		r.Devices = nil
		res = &r
	}
	if err := cg.Create(res); err != nil {
		if o.SystemdCgroup || !rootlessCgroup(err, spec.Linux) {
			return nil, rootlessCgroupError(err)
		}
		log.Debug("no cgroup for a rootless container without resources", "error", err)
		cg.Destroy()
		cg = noCgroup{}
		c.State.NoCgroup = true
	}

	boot := &initproc.Bootstrap{
		ID: id, Bundle: bundle, Rootfs: rootfs, Spec: initSpec(spec),
		CgroupPaths: cg.Paths(), Cgroup2: cgroups.DetectMode() == cgroups.Unified,
		NewUserNS: ownsNamespace(spec.Linux, specs.UserNamespace),
		NoPivot:   o.NoPivot, Debug: o.Debug, JSONLog: o.JSONLog, PreserveFDs: o.PreserveFDs,
		NoNewKeyring: o.NoNewKeyring, Seccomp: filter,
	}
	if intoCgroup {
		if p, err = startInit(spec, dir, cg.Paths()[""], o, log); err != nil {
			return nil, err
		}
		cmd, initPid = p.cmd, p.pid
		defer p.sock.Close()
	}
	if !p.inCgroup && !late {
		if err := cg.Apply(p.pid); err != nil {
			return nil, err
		}
		warmed()
	}
	if devices != nil {
		if err := cg.Set(devices); err != nil {
			return nil, err
		}
	}
	boot.JoinCgroup = late
	boot.IDMapFDs = p.idmapFDs
	hookState := c.State.State
	hookState.Pid = p.pid
	boot.State = &hookState
	if err := p.conn.Send(initproc.Message{Type: initproc.MsgBootstrap, Bootstrap: boot}); err != nil {
		return nil, err
	}
	if err := waitReady(p, cg, spec, &c.State.State, log); err != nil {
		return nil, err
	}

	if consoleLocal != nil {
		// Sent before ready: it is waiting in the socket.
		if c.console, err = recvConsole(consoleLocal); err != nil {
			return nil, err
		}
	}
	c.State.Pid = p.pid
	if c.State.StartTime, _, err = procStat(c.State.Pid); err != nil {
		return nil, fmt.Errorf("reading container init's start time: %w", err)
	}
	c.State.Status = specs.StateCreated
	c.State.Created = time.Now().UTC()
	if err := c.save(); err != nil {
		return nil, err
	}
	c.init = cmd
	log.Debug("created", "id", id, "pid", c.State.Pid)
	return c, nil
}

// waitReady reads init's messages until it is ready, running the
// createRuntime hooks when it asks.
func waitReady(p *initProcess, cg cgroups.Manager, spec *specs.Spec, st *specs.State, log *slog.Logger) error {
	for {
		agentState := *st // for a seccomp agent, if init has a listener
		agentState.Pid = p.pid
		m, err := recvForwarding(p.conn, p.pid, spec.Linux.Seccomp, agentState)
		switch {
		case errors.Is(err, io.EOF):
			return errors.New("container init exited before it was ready")
		case err != nil:
			return fmt.Errorf("reading from container init: %w", err)
		case m.Type == initproc.MsgError:
			return &ExitError{Code: m.ExitCode, Err: errors.New(m.Error)}
		case m.Type == initproc.MsgReady:
			return nil
		case m.Type == initproc.MsgJoinCgroup:
			if err := cg.Apply(p.pid); err != nil {
				return err
			}
			if err := p.conn.Send(initproc.Message{Type: initproc.MsgContinue}); err != nil {
				return err
			}
		case m.Type == initproc.MsgCreateRuntime:
			st.Pid = p.pid
			//nolint:staticcheck // Prestart is deprecated but still honoured.
			if err := hooks.Run("prestart", spec.Hooks.Prestart, st, log); err != nil {
				return err
			}
			if err := hooks.Run("createRuntime", spec.Hooks.CreateRuntime, st, log); err != nil {
				return err
			}
			if err := p.conn.Send(initproc.Message{Type: initproc.MsgContinue}); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unexpected message %q from container init", m.Type)
		}
	}
}

func ownsNamespace(l *specs.Linux, t specs.LinuxNamespaceType) bool {
	for _, n := range l.Namespaces {
		if n.Type == t {
			return n.Path == ""
		}
	}
	return false
}

// initSpec is the spec as init gets it: without linux.seccomp, which init
// never reads (it loads the program built here, Bootstrap.Seccomp) and
// which is most of config.json's bytes with Docker's profile (~1,000 lines
// init would decode on every start).
func initSpec(spec *specs.Spec) *specs.Spec {
	if spec.Linux == nil || spec.Linux.Seccomp == nil {
		return spec
	}
	s, l := *spec, *spec.Linux
	l.Seccomp = nil
	s.Linux = &l
	return &s
}

// memoryLimited reports whether the spec limits memory (or memory+swap).
func memoryLimited(l *specs.Linux) bool {
	if l.Resources == nil || l.Resources.Memory == nil {
		return false
	}
	m := l.Resources.Memory
	return (m.Limit != nil && *m.Limit > 0) || (m.Swap != nil && *m.Swap > 0)
}

// seccompCache is where built seccomp programs are kept under a state root:
// "@" is not allowed in a container id, so it is never a container's dir.
func seccompCache(root string) string { return filepath.Join(root, "@cache", "seccomp") }
