package initproc

import (
	"errors"
	"fmt"
	"log/slog"

	"golang.org/x/sys/unix"

	"github.com/nook-containers/nook/internal/runtime/seccomp"
)

// loadSeccomp loads the container's seccomp filter on this thread (and, by
// TSYNC, every thread of the process). A profile with SCMP_ACT_NOTIFY rules
// gives a listener fd, which goes to the seccomp agent through the parent
// before anything else happens (handOverListener).
func loadSeccomp(p *seccomp.Program, conn *Conn, log *slog.Logger) error {
	fd, err := p.Load()
	if err != nil {
		return err
	}
	log.Debug("seccomp", "instructions", len(p.BPF)/8, "flags", fmt.Sprintf("%#x", p.Flags))
	if fd < 0 {
		return nil
	}
	// Closed once the agent has its copy: a syscall of ours that the agent
	// is asked about is fine from then on.
	defer unix.Close(fd)
	return handOverListener(conn, fd, log)
}

// handOverListener gets the listener fd to the parent, which passes it on
// to the agent at linux.seccomp.listenerPath.
//
// The filter is in force already: any syscall of ours that matches a notify
// rule now waits until the agent answers, and the agent cannot answer
// before it has the fd. So until the parent holds a copy, init makes as few
// syscalls as it can: one write(2) of the fd's number on the sync socket
// (seccomp refuses SCMP_ACT_NOTIFY on write), after which the parent takes
// the copy itself with pidfd_getfd(2). Passing the fd with SCM_RIGHTS would
// need sendmsg(2), which real agents notify (bypass4netns does; runc moved to
// pidfd_getfd for that reason, runc issue #4328). The read of the parent's
// answer comes after the agent has the fd.
func handOverListener(conn *Conn, fd int, log *slog.Logger) error {
	if err := conn.Send(Message{Type: MsgSeccompFd, Fd: fd}); err != nil {
		return fmt.Errorf("handing over the seccomp listener: %w", err)
	}
	m, err := conn.Recv()
	if err != nil || m.Type != MsgContinue {
		// The parent gave up (it could not reach the agent) and reports
		// why itself.
		return &stepError{code: 125, err: errors.New("the runtime did not take the seccomp listener")}
	}
	log.Debug("seccomp listener handed over", "fd", fd)
	return nil
}
