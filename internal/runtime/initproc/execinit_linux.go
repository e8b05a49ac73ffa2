package initproc

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// execMain runs a process in an existing container (nook-runtime exec). It
// never returns.
//
// By the time it runs, nsenter's C constructor has joined every namespace of
// the container's init (and forked into its pid namespace), so the root and
// working directory are the container's root: setns(2) into a mount
// namespace moves both there. The parent has moved this process into the
// container's cgroup before sending the ExecBootstrap. What is left is the
// process's own settings, the same steps as the init's tail in build:
// terminal, rlimits, finding the program, seccomp, user, cwd, capabilities,
// no_new_privs, then execve.
func execMain(eb *ExecBootstrap, fds FDs, conn *Conn) {
	log := newLogger(&Bootstrap{Debug: eb.Debug, JSONLog: eb.JSONLog}, fds.Log)
	fail := func(err error) {
		code := 125
		var se *stepError
		if errors.As(err, &se) {
			code = se.code
		}
		log.Debug("exec failed", "error", err)
		conn.Send(Message{Type: MsgError, Error: err.Error(), ExitCode: code})
		os.Exit(code)
	}
	p := eb.Process
	if p == nil || len(p.Args) == 0 {
		fail(errors.New("no process to execute"))
	}
	// Until execve, this process holds fds of the host (the log, the sync
	// socket) while it is already visible in the container's pid namespace.
	// Not dumpable: nothing in the container may ptrace it or open its
	// /proc/PID/fd (runc does the same in nsexec). execve resets it.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		fail(fmt.Errorf("clearing the dumpable flag: %w", err))
	}
	// Like the init, a session of its own (nsenter's fork is not a leader).
	unix.Setsid()
	if p.Terminal {
		if err := setupConsole(fds.Console, p, false, log); err != nil {
			fail(err)
		}
	} else if fds.Console >= 0 {
		unix.Close(fds.Console)
	}
	if err := setRlimits(p.Rlimits, log); err != nil {
		fail(err)
	}
	// The process's own scheduler and I/O priority (from --process, or
	// the container's), and the container's personality.
	if err := setProcessScheduling(p, eb.Personality, log); err != nil {
		fail(err)
	}
	path, err := lookPath(p)
	if err != nil {
		fail(err)
	}
	// The container's seccomp filter, loaded as the init loads it (see
	// build and Main): without no_new_privs while we still have
	// CAP_SYS_ADMIN, with it right before execve.
	if eb.Seccomp != nil && !p.NoNewPrivileges {
		if err := loadSeccomp(eb.Seccomp, conn, log); err != nil {
			fail(err)
		}
	}
	if err := setupUser(p, log); err != nil {
		fail(err)
	}
	if err := enterCwd(p, log); err != nil {
		fail(err)
	}
	if err := applyCapabilities(p.Capabilities, log); err != nil {
		fail(err)
	}
	if p.NoNewPrivileges {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			fail(fmt.Errorf("setting no_new_privs: %w", err))
		}
		log.Debug("prctl", "op", "PR_SET_NO_NEW_PRIVS", "value", 1)
	}
	if err := conn.Send(Message{Type: MsgReady}); err != nil {
		os.Exit(125)
	}
	if eb.Seccomp != nil && p.NoNewPrivileges {
		// After ready: the parent keeps reading until execve (EOF), and
		// takes a listener on the way.
		if err := loadSeccomp(eb.Seccomp, conn, log); err != nil {
			fail(err)
		}
	}
	// The sync socket stays open: execProgram marks it close-on-exec, so
	// the parent reads EOF once execve has succeeded, and an error if not.
	err = execProgram(path, p, eb.PreserveFDs, log)
	fail(err)
}
