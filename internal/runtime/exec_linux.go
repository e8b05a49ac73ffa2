package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nook-containers/nook/internal/runtime/cgroups"
	"github.com/nook-containers/nook/internal/runtime/initproc"
	"github.com/nook-containers/nook/internal/runtime/nsenter"
	"github.com/nook-containers/nook/internal/runtime/seccomp"
)

// ExecOpts describe a process to run in a running container.
type ExecOpts struct {
	// Process, when set (exec --process FILE), is the process as is; the
	// container's capabilities, rlimits, scheduler, ioPriority and
	// no_new_privs fill what it leaves unset. When nil, the process is the
	// container's config.json process with Args and the overrides below.
	Process *specs.Process

	Args           []string
	Env            []string // added to the container's
	Cwd            string
	UID, GID       *uint32
	AdditionalGids []uint32
	Caps           []string // added to the bounding, effective and permitted sets
	NoNewPrivs     bool
	Terminal       bool

	// ConsoleSocket, Detach: as for create and run. A foreground exec with
	// a terminal and no console socket relays the pty itself
	// (ExecProcess.Console).
	ConsoleSocket string
	Detach        bool
	// PreserveFDs passes fds 3 .. 3+PreserveFDs-1 on to the process.
	PreserveFDs int
	// Stdio is the process's stdin, stdout and stderr; a nil entry is
	// ours (os.Stdin, os.Stdout, os.Stderr).
	Stdio [3]*os.File

	Log     *slog.Logger
	LogFile *os.File
	Debug   bool
	JSONLog bool
}

// ExecProcess is a process started by Exec.
type ExecProcess struct {
	// Pid is the process's pid on the host.
	Pid int
	// cmd is our direct child; it is the process itself unless nsenter
	// forked into the container's pid namespace (then it has exited and
	// the process is our grandchild).
	cmd     *exec.Cmd
	direct  bool
	console *os.File
}

// nsFiles are the /proc/PID/ns entries an exec'd process joins (nsenterEnv
// decides the order). time_for_children: a created container's init has
// unshared its time namespace but not exec'd into it yet.
var nsFiles = []struct {
	typ        specs.LinuxNamespaceType
	file, self string
}{
	{specs.UserNamespace, "user", "user"}, {specs.MountNamespace, "mnt", "mnt"},
	{specs.PIDNamespace, "pid", "pid"}, {specs.NetworkNamespace, "net", "net"},
	{specs.IPCNamespace, "ipc", "ipc"}, {specs.UTSNamespace, "uts", "uts"},
	{specs.CgroupNamespace, "cgroup", "cgroup"}, {specs.TimeNamespace, "time_for_children", "time"},
}

// Exec starts a process in every namespace and the cgroup of the container,
// which must be created or running. The container may be closed (unlocked)
// once Exec returns.
//
// How: the sealed runtime binary is started as "init" with nsenter's
// environment naming each namespace of the container's init that differs
// from ours; its C constructor joins them before the Go runtime starts
// (setns into a user or pid namespace needs a single-threaded process) and
// forks into the pid namespace. The parent moves that process into the
// container's cgroup, then sends it the process to run (MsgExec); it applies
// the process's settings and execve()s, or reports an error (127/126 when
// the program is missing or not executable).
func (c *Container) Exec(o ExecOpts) (_ *ExecProcess, err error) {
	log := o.Log
	if c.State.Status != specs.StateCreated && c.State.Status != specs.StateRunning {
		return nil, fmt.Errorf("cannot exec in a %s container: %w", c.State.Status, ErrNotRunning)
	}
	if !nsenter.Supported {
		return nil, errors.New("exec needs nook-runtime built with cgo (the nsenter constructor)")
	}
	if o.PreserveFDs < 0 {
		return nil, errors.New("--preserve-fds must not be negative")
	}
	proc, linux, err := c.execProcess(o)
	if err != nil {
		return nil, err
	}
	if !isRootless() && !c.State.NoCgroup {
		defer cgroups.WarmAttach(log)() // for cg.Apply below
	}
	var filter *seccomp.Program
	if linux.Seccomp != nil {
		if filter, err = seccomp.Build(linux.Seccomp, seccompCache(filepath.Dir(c.dir)), log); err != nil {
			return nil, fmt.Errorf("linux.seccomp: %w", err)
		}
	}
	remote, local, err := consoleSockets(proc.Terminal, o.ConsoleSocket, !o.Detach)
	if err != nil {
		return nil, err
	}
	if remote != nil {
		defer remote.Close()
	}
	if local != nil {
		defer local.Close()
	}
	joins, err := c.namespacesToJoin()
	if err != nil {
		return nil, err
	}

	exe, err := sealedBinary("", c.dir)
	if err != nil {
		return nil, err
	}
	defer exe.Close()
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("making sync socket: %w", err)
	}
	sock, childSock := os.NewFile(uintptr(pair[0]), "sync"), os.NewFile(uintptr(pair[1]), "sync")
	defer sock.Close()
	defer childSock.Close()
	var extra []*os.File
	for i := 0; i < o.PreserveFDs; i++ {
		extra = append(extra, os.NewFile(uintptr(3+i), fmt.Sprintf("preserved-%d", 3+i)))
	}
	fds := initproc.FDs{Sync: 3 + len(extra), StateDir: -1, Log: -1, Console: -1}
	extra = append(extra, childSock)
	if o.Debug && o.LogFile != nil {
		fds.Log = 3 + len(extra)
		extra = append(extra, o.LogFile)
	}
	if remote != nil {
		fds.Console = 3 + len(extra)
		extra = append(extra, remote)
	}
	// As in startInit: exec the sealed binary by a path whose fd is above every fd
	// the child is given.
	high, err := unix.FcntlInt(exe.Fd(), unix.F_DUPFD_CLOEXEC, 3+len(extra)+16)
	if err != nil {
		return nil, fmt.Errorf("duplicating the init binary's fd: %w", err)
	}
	defer unix.Close(high)
	env := append([]string{initproc.FDsEnv + "=" + fds.String()}, nsenterEnv(joins, 0, fds.Sync)...)
	cmd := &exec.Cmd{
		Path:        fmt.Sprintf("/proc/self/fd/%d", high),
		Args:        []string{"nook-runtime", "init"},
		Env:         env,
		Stdin:       stdioOr(o.Stdio[0], os.Stdin),
		Stdout:      stdioOr(o.Stdio[1], os.Stdout),
		Stderr:      stdioOr(o.Stdio[2], os.Stderr),
		ExtraFiles:  extra,
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	log.Debug("exec: start", "join", fmt.Sprint(joins), "exe", exe.Name())
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the exec process: %w", err)
	}
	childSock.Close()
	p := &ExecProcess{Pid: cmd.Process.Pid, cmd: cmd, direct: true}
	conn := initproc.NewConn(sock)
	defer func() {
		if err != nil {
			p.kill()
		}
	}()
	if slices.ContainsFunc(joins, func(ns specs.LinuxNamespace) bool { return ns.Type == specs.PIDNamespace }) {
		// nsenter forked into the pid namespace: the pid line first.
		m, rerr := conn.Recv()
		cmd.Wait()
		p.direct = false
		switch {
		case rerr != nil:
			p.Pid = 0
			return nil, fmt.Errorf("reading from nsenter: %w", rerr)
		case m.Type == initproc.MsgError:
			p.Pid = 0
			return nil, &ExitError{Code: m.ExitCode, Err: errors.New(m.Error)}
		case m.Type != initproc.MsgPid || m.Pid <= 0:
			p.Pid = 0
			return nil, fmt.Errorf("unexpected message %q from nsenter", m.Type)
		}
		p.Pid = m.Pid
	}
	log.Debug("exec: process started", "pid", p.Pid)
	cg, err := c.cgroup(log)
	if err != nil {
		return nil, err
	}
	if err := cg.Apply(p.Pid); err != nil {
		return nil, err
	}
	boot := &initproc.ExecBootstrap{ID: c.ID, Process: proc, Seccomp: filter, Personality: linux.Personality,
		PreserveFDs: o.PreserveFDs, Debug: o.Debug, JSONLog: o.JSONLog}
	serr := conn.Send(initproc.Message{Type: initproc.MsgExec, Exec: boot})
	// A failed send is most likely nsenter's error exit: read its report.
	// A seccomp listener (linux.seccomp.listenerPath) comes on the way.
	m, rerr := recvForwarding(conn, p.Pid, linux.Seccomp, c.State.State)
	switch {
	case rerr == nil && m.Type == initproc.MsgError:
		return nil, &ExitError{Code: m.ExitCode, Err: errors.New(m.Error)}
	case serr != nil:
		return nil, serr
	case errors.Is(rerr, io.EOF):
		return nil, errors.New("the exec process exited before it was ready")
	case rerr != nil:
		return nil, fmt.Errorf("reading from the exec process: %w", rerr)
	case m.Type != initproc.MsgReady:
		return nil, fmt.Errorf("unexpected message %q from the exec process", m.Type)
	}
	// The process's end of the sync socket is close-on-exec: EOF says
	// execve succeeded, so that the program runs when Exec returns (exec
	// -d, --pid-file); an error message says it did not.
	switch m, err := recvForwarding(conn, p.Pid, linux.Seccomp, c.State.State); {
	case err == nil && m.Type == initproc.MsgError:
		return nil, &ExitError{Code: m.ExitCode, Err: errors.New(m.Error)}
	case err == nil:
		return nil, fmt.Errorf("unexpected message %q from the exec process", m.Type)
	case !errors.Is(err, io.EOF):
		return nil, fmt.Errorf("reading from the exec process: %w", err)
	}
	if local != nil {
		if p.console, err = recvConsole(local); err != nil {
			return nil, err
		}
	}
	log.Debug("exec: running", "pid", p.Pid, "args", fmt.Sprint(proc.Args))
	return p, nil
}

// execProcess builds the complete process to run from the options and the
// container's config.json (read now, from the bundle, as runc reads its
// saved config), and returns the container's linux section with it (never
// nil): an exec'd process gets the same seccomp filter, or exec would be a
// way around it, and the same personality.
func (c *Container) execProcess(o ExecOpts) (*specs.Process, *specs.Linux, error) {
	data, err := os.ReadFile(filepath.Join(c.State.Bundle, "config.json"))
	if err != nil {
		return nil, nil, fmt.Errorf("reading the container's config.json: %w", err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		return nil, nil, fmt.Errorf("parsing the container's config.json: %w", err)
	}
	linux := spec.Linux
	if linux == nil {
		linux = &specs.Linux{}
	}
	base := spec.Process
	if base == nil {
		base = &specs.Process{Cwd: "/"}
	}
	var p specs.Process
	if o.Process != nil {
		p = *o.Process
		if p.Capabilities == nil {
			p.Capabilities = base.Capabilities
		}
		if len(p.Rlimits) == 0 {
			p.Rlimits = base.Rlimits
		}
		if p.Scheduler == nil {
			p.Scheduler = base.Scheduler
		}
		if p.IOPriority == nil {
			p.IOPriority = base.IOPriority
		}
		p.NoNewPrivileges = p.NoNewPrivileges || base.NoNewPrivileges
	} else {
		p = *base
		p.Args = o.Args
		p.Env = append(slices.Clone(base.Env), o.Env...)
		if o.Cwd != "" {
			p.Cwd = o.Cwd
		}
		if o.UID != nil {
			p.User.UID = *o.UID
		}
		if o.GID != nil {
			p.User.GID = *o.GID
		}
		if len(o.AdditionalGids) > 0 {
			p.User.AdditionalGids = o.AdditionalGids
		}
		p.Terminal = o.Terminal
		p.ConsoleSize = nil
		p.NoNewPrivileges = p.NoNewPrivileges || o.NoNewPrivs
		if len(o.Caps) > 0 {
			caps := &specs.LinuxCapabilities{}
			if base.Capabilities != nil {
				*caps = *base.Capabilities
			}
			caps.Bounding = append(slices.Clone(caps.Bounding), o.Caps...)
			caps.Effective = append(slices.Clone(caps.Effective), o.Caps...)
			caps.Permitted = append(slices.Clone(caps.Permitted), o.Caps...)
			// Ambient needs inheritable, which --cap does not add (runc).
			if caps.Inheritable != nil {
				caps.Ambient = append(slices.Clone(caps.Ambient), o.Caps...)
			}
			p.Capabilities = caps
		}
	}
	if err := validateProcess(&p); err != nil {
		return nil, nil, fmt.Errorf("exec: %w", err)
	}
	return &p, linux, nil
}

// namespacesToJoin lists the container init's namespaces that are not
// ours: every namespace the container has, new or joined by path.
func (c *Container) namespacesToJoin() ([]specs.LinuxNamespace, error) {
	if !processAlive(c.State.Pid, c.State.StartTime) {
		return nil, ErrNotRunning
	}
	var joins []specs.LinuxNamespace
	for _, ns := range nsFiles {
		path := fmt.Sprintf("/proc/%d/ns/%s", c.State.Pid, ns.file)
		var theirs, ours unix.Stat_t
		if err := unix.Stat(path, &theirs); errors.Is(err, unix.ENOENT) {
			continue // the kernel has no such namespace
		} else if err != nil {
			return nil, fmt.Errorf("reading the container's %s namespace: %w", ns.typ, err)
		}
		if err := unix.Stat("/proc/self/ns/"+ns.self, &ours); err == nil && ours.Ino == theirs.Ino && ours.Dev == theirs.Dev {
			continue
		}
		joins = append(joins, specs.LinuxNamespace{Type: ns.typ, Path: path})
	}
	// The paths name the init by pid: make sure it is still the same one.
	if !processAlive(c.State.Pid, c.State.StartTime) {
		return nil, ErrNotRunning
	}
	return joins, nil
}

// kill stops a process that failed before it ran the program, and reaps it.
func (p *ExecProcess) kill() {
	if p.Pid > 0 {
		unix.Kill(p.Pid, unix.SIGKILL)
	}
	if p.direct {
		p.cmd.Wait()
	} else if p.Pid > 0 {
		var ws unix.WaitStatus
		unix.Wait4(p.Pid, &ws, 0, nil) // ECHILD unless we are its subreaper
	}
}

// Wait waits for the process and returns its exit status, 128+N when killed
// by signal N. When nsenter forked it, the process is our grandchild: the
// caller must have made itself a child subreaper (PR_SET_CHILD_SUBREAPER)
// before Exec.
func (p *ExecProcess) Wait() (int, error) {
	var ws syscall.WaitStatus
	if p.direct {
		err := p.cmd.Wait()
		var ok bool
		if ws, ok = p.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok {
			return 0, err
		}
	} else {
		for {
			_, err := syscall.Wait4(p.Pid, &ws, 0, nil)
			if err == nil {
				break
			}
			if err != syscall.EINTR {
				return 0, fmt.Errorf("waiting for the exec process: %w", err)
			}
		}
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ws.ExitStatus(), nil
}

// Console returns the pty master when this process relays the terminal (a
// foreground exec with a terminal and no console socket), else nil.
func (p *ExecProcess) Console() *os.File { return p.console }
