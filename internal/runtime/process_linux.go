package runtime

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nook-containers/nook/internal/runtime/initproc"
)

// initProcess is the parent's handle on a starting init.
type initProcess struct {
	cmd  *exec.Cmd
	sock *os.File
	conn *initproc.Conn
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
func startInit(spec *specs.Spec, dir string, o CreateOpts, log *slog.Logger) (*initProcess, error) {
	exe, err := sealedSelf()
	if err != nil {
		return nil, err
	}
	defer exe.Close()
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
	fds := initproc.FDs{Sync: 3 + len(extra), StateDir: 4 + len(extra), Log: -1}
	extra = append(extra, childSock, stateDir)
	if o.Debug && o.LogFile != nil {
		fds.Log = 3 + len(extra)
		extra = append(extra, o.LogFile)
	}
	// Exec the memfd by its /proc/self/fd path. Move it above every fd the
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
	for _, ns := range spec.Linux.Namespaces {
		switch {
		case ns.Path != "":
			joins = append(joins, ns)
		case ns.Type == specs.CgroupNamespace || ns.Type == specs.TimeNamespace:
			// made by init itself; see initproc.enterLateNamespaces
		default:
			flags |= nsFlags[ns.Type]
		}
	}
	attr := &syscall.SysProcAttr{Cloneflags: flags, Setsid: true}
	if flags&unix.CLONE_NEWUSER != 0 {
		attr.UidMappings = idMaps(spec.Linux.UIDMappings)
		attr.GidMappings = idMaps(spec.Linux.GIDMappings)
		attr.GidMappingsEnableSetgroups = true
		// A new user namespace does not change the child's ids: host root
		// is unmapped there (it shows as the overflow uid, without
		// capabilities). Become the namespace's root before execve, while
		// the child still holds every capability in its new namespace.
		attr.Credential = &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true}
	}
	cmd := &exec.Cmd{
		Path:        fmt.Sprintf("/proc/self/fd/%d", high),
		Args:        []string{"nook-runtime", "init"},
		Env:         []string{initproc.FDsEnv + "=" + fds.String()},
		Stdin:       os.Stdin,
		Stdout:      os.Stdout,
		Stderr:      os.Stderr,
		ExtraFiles:  extra,
		SysProcAttr: attr,
	}
	log.Debug("clone", "flags", cloneFlagNames(flags), "uid_map", fmt.Sprint(spec.Linux.UIDMappings),
		"gid_map", fmt.Sprint(spec.Linux.GIDMappings), "exe", "memfd (sealed copy of nook-runtime)")
	if len(joins) == 0 {
		err = cmd.Start()
	} else {
		err = startJoined(cmd, joins, log)
	}
	if err != nil {
		parentSock.Close()
		return nil, fmt.Errorf("starting container init: %w", err)
	}
	log.Debug("init started", "pid", cmd.Process.Pid)
	return &initProcess{cmd: cmd, sock: parentSock, conn: initproc.NewConn(parentSock)}, nil
}

// startJoined enters the namespaces to join on a fresh OS thread and starts
// cmd from it. The thread is never unlocked, so Go discards it afterwards
// instead of running other goroutines in the container's namespaces.
func startJoined(cmd *exec.Cmd, joins []specs.LinuxNamespace, log *slog.Logger) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		errc <- func() error {
			for _, ns := range joins {
				if ns.Type == specs.UserNamespace || ns.Type == specs.TimeNamespace {
					// The kernel refuses these to a multi-threaded process.
					return fmt.Errorf("joining an existing %s namespace (%s) is not supported yet", ns.Type, ns.Path)
				}
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
