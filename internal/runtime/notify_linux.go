package runtime

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nook-containers/nook/internal/runtime/initproc"
	"github.com/nook-containers/nook/internal/runtime/seccomp"
)

// recvForwarding reads the next message from a starting init or exec
// process, first serving its requests to hand a seccomp listener over
// (MsgSeccompFd) as often as they come. A failed hand-over comes back as
// an error message from the process would, so that callers report it the
// same way (exit status 125): the spec wants an error when the agent
// cannot be reached.
//
// pid is the process's host pid; sc its seccomp profile; st the
// container's state as the agent sees it.
func recvForwarding(conn *initproc.Conn, pid int, sc *specs.LinuxSeccomp, st specs.State) (initproc.Message, error) {
	for {
		m, err := conn.Recv()
		if err != nil || m.Type != initproc.MsgSeccompFd {
			return m, err
		}
		if err := forwardListener(pid, m.Fd, sc, st); err != nil {
			return initproc.Message{Type: initproc.MsgError, Error: err.Error(), ExitCode: 125}, nil
		}
		if err := conn.Send(initproc.Message{Type: initproc.MsgContinue}); err != nil {
			return m, err
		}
	}
}

// forwardListener copies fd number fd out of process pid with
// pidfd_getfd(2) (the process waits for our answer, so the number is
// still its listener) and sends the copy to the agent at sc.ListenerPath.
func forwardListener(pid, fd int, sc *specs.LinuxSeccomp, st specs.State) error {
	if sc == nil || sc.ListenerPath == "" {
		return fmt.Errorf("a seccomp listener came without linux.seccomp.listenerPath")
	}
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return fmt.Errorf("opening a pidfd for %d: %w", pid, err)
	}
	defer unix.Close(pidfd)
	listener, err := unix.PidfdGetfd(pidfd, fd, 0)
	if err != nil {
		return fmt.Errorf("copying the seccomp listener from %d (pidfd_getfd): %w", pid, err)
	}
	defer unix.Close(listener)
	ps := specs.ContainerProcessState{Version: specs.Version, Pid: pid, Metadata: sc.ListenerMetadata, State: st}
	if err := seccomp.SendListener(sc.ListenerPath, ps, listener); err != nil {
		return fmt.Errorf("handing the seccomp listener to the agent: %w", err)
	}
	return nil
}
