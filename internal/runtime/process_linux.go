package runtime

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nook-containers/nook/internal/runtime/initproc"
	"github.com/nook-containers/nook/internal/runtime/nsenter"
)

// initProcess is the parent's handle on a starting init.
type initProcess struct {
	// cmd is the process we started; pid is the init's. They differ when
	// nsenter forked into a pid namespace: cmd has exited then.
	cmd  *exec.Cmd
	pid  int
	sock *os.File
	conn *initproc.Conn
	// inCgroup is true when init was cloned into its cgroup.
	inCgroup bool
	// idmapFDs are init's fd numbers of CreateOpts.idmapped, by mount index.
	idmapFDs map[int]int
}

// nsFlags maps namespace types to their clone(2) flags.
var nsFlags = map[specs.LinuxNamespaceType]uintptr{
	specs.PIDNamespace: unix.CLONE_NEWPID, specs.NetworkNamespace: unix.CLONE_NEWNET,
	specs.MountNamespace: unix.CLONE_NEWNS, specs.IPCNamespace: unix.CLONE_NEWIPC,
	specs.UTSNamespace: unix.CLONE_NEWUTS, specs.UserNamespace: unix.CLONE_NEWUSER,
	specs.CgroupNamespace: unix.CLONE_NEWCGROUP, specs.TimeNamespace: unix.CLONE_NEWTIME,
}

// startInit re-executes the sealed runtime binary as "nook-runtime init" in
// the container's new namespaces. Joined namespaces (linux.namespaces[].path)
// are entered by a locked OS thread that then forks init, so init inherits
// them: setns(2) changes only the calling thread.
//
// cgroupDir, when set (cgroup v2), is the container's cgroup: init is cloned
// straight into it (clone3 CLONE_INTO_CGROUP). That skips the migration a
// write to cgroup.procs costs — on a hierarchy mounted without favordynmods,
// an RCU grace period of up to ~15 ms — and charges init from its first page.
func startInit(spec *specs.Spec, dir, cgroupDir string, o CreateOpts, log *slog.Logger) (*initProcess, error) {
	t0 := time.Now()
	exe, err := sealedBinary(o.InitBinary, dir)
	if err != nil {
		return nil, err
	}
	defer exe.Close()
	log.Debug("sealed init binary", "file", exe.Name(), "took", time.Since(t0))
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("making sync socket: %w", err)
	}
	parentSock, childSock := os.NewFile(uintptr(pair[0]), "sync"), os.NewFile(uintptr(pair[1]), "sync")
	defer childSock.Close()
	stateFD, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		parentSock.Close()
		return nil, fmt.Errorf("opening state dir: %w", err)
	}
	stateDir := os.NewFile(uintptr(stateFD), "state")
	defer stateDir.Close()

	var extra []*os.File
	for i := 0; i < o.PreserveFDs; i++ {
		extra = append(extra, os.NewFile(uintptr(3+i), fmt.Sprintf("preserved-%d", 3+i)))
	}
	fds := initproc.FDs{Sync: 3 + len(extra), StateDir: 4 + len(extra), Log: -1, Console: -1}
	extra = append(extra, childSock, stateDir)
	if o.Debug && o.LogFile != nil {
		fds.Log = 3 + len(extra)
		extra = append(extra, o.LogFile)
	}
	if o.console != nil {
		fds.Console = 3 + len(extra)
		extra = append(extra, o.console)
	}
	idmapFDs := map[int]int{}
	for i, f := range o.idmapped {
		idmapFDs[i] = 3 + len(extra)
		extra = append(extra, f)
	}
	// Exec the sealed binary by its /proc/self/fd path. Move it above every fd the
	// child is given, or the child's dup2 of ExtraFiles could replace it
	// before execve looks the path up.
	high, err := unix.FcntlInt(exe.Fd(), unix.F_DUPFD_CLOEXEC, 3+len(extra)+16)
	if err != nil {
		parentSock.Close()
		return nil, fmt.Errorf("duplicating the init binary's fd: %w", err)
	}
	defer unix.Close(high)

	var flags uintptr
	var joins []specs.LinuxNamespace
	viaNsenter, forks := false, false
	for _, ns := range spec.Linux.Namespaces {
		switch {
		case ns.Path != "":
			joins = append(joins, ns)
			viaNsenter = viaNsenter || ns.Type == specs.UserNamespace || ns.Type == specs.TimeNamespace
			forks = forks || ns.Type == specs.PIDNamespace
		case ns.Type == specs.CgroupNamespace || ns.Type == specs.TimeNamespace:
			// made by init itself; see initproc.enterLateNamespaces
		default:
			flags |= nsFlags[ns.Type]
			forks = forks || ns.Type == specs.PIDNamespace
		}
	}
	// GOMAXPROCS=1: init runs on one locked thread (see cmd/nook-runtime's
	// init); started with one P, its Go runtime skips making the others and
	// the stop-the-world of lowering GOMAXPROCS later. init's environment
	// never reaches the program or the hooks (they get their own).
	env := []string{initproc.FDsEnv + "=" + fds.String(), "GOMAXPROCS=1"}
	attr := &syscall.SysProcAttr{Cloneflags: flags, Setsid: true}
	if viaNsenter {
		if !nsenter.Supported {
			parentSock.Close()
			return nil, errors.New("joining a user or time namespace needs nook-runtime built with cgo (the nsenter constructor)")
		}
		// The kernel lets only a single-threaded process join a user or
		// time namespace: internal/runtime/nsenter's C constructor does
		// every join and unshare before the Go runtime starts.
		env = append(env, nsenterEnv(joins, flags, fds.Sync)...)
		attr.Cloneflags, joins = 0, nil
	} else {
		forks = false
	}
	if cgroupDir != "" {
		cgfd, err := unix.Open(cgroupDir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			parentSock.Close()
			return nil, fmt.Errorf("opening cgroup %s: %w", cgroupDir, err)
		}
		defer unix.Close(cgfd)
		attr.UseCgroupFD, attr.CgroupFD = true, cgfd
	}
	if attr.Cloneflags&unix.CLONE_NEWUSER != 0 {
		attr.UidMappings = idMaps(spec.Linux.UIDMappings)
		attr.GidMappings = idMaps(spec.Linux.GIDMappings)
		// Unprivileged, gid_map may only be written once setgroups(2)
		// is denied (user_namespaces(7)); see rootless_linux.go.
		attr.GidMappingsEnableSetgroups = !isRootless()
		// A new user namespace does not change the child's ids: host root
		// is unmapped there (it shows as the overflow uid, without
		// capabilities). Become the namespace's root before execve, while
		// the child still holds every capability in its new namespace.
		attr.Credential = &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true}
	}
	cmd := &exec.Cmd{
		Path:        fmt.Sprintf("/proc/self/fd/%d", high),
		Args:        []string{"nook-runtime", "init"},
		Env:         env,
		Stdin:       stdioOr(o.Stdio[0], os.Stdin),
		Stdout:      stdioOr(o.Stdio[1], os.Stdout),
		Stderr:      stdioOr(o.Stdio[2], os.Stderr),
		ExtraFiles:  extra,
		SysProcAttr: attr,
	}
	log.Debug("clone", "flags", cloneFlagNames(flags), "into_cgroup", cgroupDir, "uid_map", fmt.Sprint(spec.Linux.UIDMappings),
		"gid_map", fmt.Sprint(spec.Linux.GIDMappings), "exe", exe.Name())
	if len(joins) == 0 {
		err = cmd.Start()
	} else {
		err = startJoined(cmd, joins, log)
	}
	if err != nil {
		parentSock.Close()
		return nil, fmt.Errorf("starting container init: %w", err)
	}
	p := &initProcess{cmd: cmd, pid: cmd.Process.Pid, sock: parentSock, conn: initproc.NewConn(parentSock), inCgroup: cgroupDir != "", idmapFDs: idmapFDs}
	if forks {
		// nsenter forked into the pid namespace; its first process says
		// who the init is, then exits.
		m, err := p.conn.Recv()
		cmd.Wait()
		if err == nil && m.Type == initproc.MsgError {
			err = &ExitError{Code: m.ExitCode, Err: errors.New(m.Error)}
		} else if err == nil && (m.Type != initproc.MsgPid || m.Pid <= 0) {
			err = fmt.Errorf("unexpected message %q from nsenter", m.Type)
		}
		if err != nil {
			parentSock.Close()
			return nil, err
		}
		p.pid = m.Pid
	}
	log.Debug("init started", "pid", p.pid)
	return p, nil
}

// nsenterEnv is the environment that drives nsenter's C constructor: the
// namespaces to join, the new ones to make, and the sync fd.
//
// The user namespace is joined last. nook runs as root, and root may enter
// every other namespace with the host's privileges; once in the container's
// user namespace it holds capabilities only there, and some kernels (6.1)
// then refuse to enter a time namespace. Joined last, the user namespace
// still owns everything unshared after it.
//
// Rootless, it is joined first: an unprivileged runtime has no privilege
// over the other namespaces until it is in the user namespace that owns
// them (setns(2) wants CAP_SYS_ADMIN there and, for a mount namespace,
// CAP_SYS_CHROOT in the caller's own user namespace).
func nsenterEnv(joins []specs.LinuxNamespace, flags uintptr, syncFD int) []string {
	var list []string
	var user string
	for _, ns := range joins {
		pair := nsenterNames[ns.Type] + ":" + ns.Path
		if ns.Type == specs.UserNamespace {
			user = pair
		} else {
			list = append(list, pair)
		}
	}
	switch {
	case user != "" && isRootless():
		list = append([]string{user}, list...)
	case user != "":
		list = append(list, user)
	}
	return []string{
		"_NOOK_NSENTER_JOIN=" + strings.Join(list, ","),
		fmt.Sprintf("_NOOK_NSENTER_UNSHARE=%d", flags),
		fmt.Sprintf("_NOOK_NSENTER_SYNCFD=%d", syncFD),
	}
}

var nsenterNames = map[specs.LinuxNamespaceType]string{
	specs.PIDNamespace: "pid", specs.NetworkNamespace: "net", specs.MountNamespace: "mnt",
	specs.IPCNamespace: "ipc", specs.UTSNamespace: "uts", specs.UserNamespace: "user",
	specs.CgroupNamespace: "cgroup", specs.TimeNamespace: "time",
}

// startJoined enters the namespaces to join on a fresh OS thread and starts
// cmd from it (user and time namespaces go through nsenter instead). The
// thread is never unlocked, so Go discards it afterwards instead of running
// other goroutines in the container's namespaces.
func startJoined(cmd *exec.Cmd, joins []specs.LinuxNamespace, log *slog.Logger) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		errc <- func() error {
			for _, ns := range joins {
				if ns.Type == specs.MountNamespace {
					// setns(CLONE_NEWNS) needs a private fs_struct.
					if err := unix.Unshare(unix.CLONE_FS); err != nil {
						return fmt.Errorf("unsharing fs attributes: %w", err)
					}
				}
				fd, err := unix.Open(ns.Path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
				if err != nil {
					return fmt.Errorf("opening %s namespace: %w", ns.Type, err)
				}
				err = unix.Setns(fd, int(nsFlags[ns.Type]))
				unix.Close(fd)
				if err != nil {
					return fmt.Errorf("joining %s namespace %s: %w", ns.Type, ns.Path, err)
				}
				log.Debug("setns", "type", string(ns.Type), "path", ns.Path)
			}
			return cmd.Start()
		}()
	}()
	return <-errc
}

func idMaps(m []specs.LinuxIDMapping) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, len(m))
	for i, e := range m {
		out[i] = syscall.SysProcIDMap{ContainerID: int(e.ContainerID), HostID: int(e.HostID), Size: int(e.Size)}
	}
	return out
}

func cloneFlagNames(flags uintptr) string {
	var names []string
	for _, f := range []struct {
		bit  uintptr
		name string
	}{
		{unix.CLONE_NEWUSER, "CLONE_NEWUSER"}, {unix.CLONE_NEWNS, "CLONE_NEWNS"},
		{unix.CLONE_NEWPID, "CLONE_NEWPID"}, {unix.CLONE_NEWUTS, "CLONE_NEWUTS"},
		{unix.CLONE_NEWIPC, "CLONE_NEWIPC"}, {unix.CLONE_NEWNET, "CLONE_NEWNET"},
	} {
		if flags&f.bit != 0 {
			names = append(names, f.name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, "|")
}

// stdioOr returns f, or def when f is nil. (A nil *os.File stored in
// exec.Cmd's io.Reader/io.Writer fields would not be nil to exec.)
func stdioOr(f, def *os.File) *os.File {
	if f != nil {
		return f
	}
	return def
}
