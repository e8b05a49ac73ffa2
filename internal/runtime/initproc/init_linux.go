package initproc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nook-containers/nook/internal/runtime/hooks"
	"github.com/nook-containers/nook/internal/runtime/tracelog"
)

// stepError is a failure that carries the exit status the runtime reports.
type stepError struct {
	code int
	err  error
}

func (e *stepError) Error() string { return e.err.Error() }

// Main is the container's init. It never returns: it execve()s the user's
// program or exits. The caller must have locked the main OS thread.
func Main() {
	fds, err := ParseFDs(os.Getenv(FDsEnv))
	if err != nil {
		fmt.Fprintf(os.Stderr, "nook-runtime init: %v (init is started by nook-runtime, not by hand)\n", err)
		os.Exit(125)
	}
	os.Unsetenv(FDsEnv)
	sock := os.NewFile(uintptr(fds.Sync), "sync")
	warmDecoder(fds.Sync)
	conn := NewConn(sock)
	m, err := conn.Recv()
	if err == nil && m.Type == MsgExec && m.Exec != nil {
		execMain(m.Exec, fds, conn) // nook-runtime exec; never returns
	}
	if err != nil || m.Type != MsgBootstrap || m.Bootstrap == nil {
		fmt.Fprintf(os.Stderr, "nook-runtime init: no bootstrap from the runtime: %v\n", err)
		os.Exit(125)
	}
	b := m.Bootstrap
	b.consoleFD = fds.Console
	log := newLogger(b, fds.Log)

	fail := func(err error) {
		code := 125
		var se *stepError
		if errors.As(err, &se) {
			code = se.code
		}
		log.Debug("init failed", "error", err)
		conn.Send(Message{Type: MsgError, Error: err.Error(), ExitCode: code})
		os.Exit(code)
	}

	if b.JoinCgroup {
		if err := joinCgroup(conn); err != nil {
			fail(err)
		}
	}
	path, err := build(b, conn, log)
	if err != nil {
		fail(err)
	}
	if err := conn.Send(Message{Type: MsgReady}); err != nil {
		os.Exit(125)
	}
	sock.Close()

	if err := waitForStart(fds.StateDir, log); err != nil {
		fmt.Fprintf(os.Stderr, "nook-runtime init: %v\n", err)
		os.Exit(125)
	}
	if b.Spec.Hooks != nil && len(b.Spec.Hooks.StartContainer) > 0 {
		st := *b.State
		st.Status = specs.StateRunning
		if err := hooks.Run("startContainer", b.Spec.Hooks.StartContainer, &st, log); err != nil {
			fmt.Fprintf(os.Stderr, "nook-runtime: %v\n", err)
			os.Exit(125)
		}
	}
	if b.Seccomp != nil && b.Spec.Process.NoNewPrivileges && !b.Seccomp.Notify {
		// With no_new_privs set, as late as possible: right before execve.
		// (A profile with a listener was loaded in build: its fd goes
		// through the sync socket, closed by now.)
		if _, err := b.Seccomp.Load(); err != nil {
			fmt.Fprintf(os.Stderr, "nook-runtime: %v\n", err)
			os.Exit(125)
		}
	}
	err = execProgram(path, b.Spec.Process, b.PreserveFDs, log)
	// execve returned: report on the container's stderr, the only channel
	// left once create has exited.
	fmt.Fprintf(os.Stderr, "nook-runtime: %v\n", err)
	var se *stepError
	if errors.As(err, &se) {
		os.Exit(se.code)
	}
	os.Exit(126)
}

// build turns the bootstrap into a container, up to the point where only
// start's signal and the final execve are left. It returns the resolved path
// of the program to run. conn is the sync socket: the parent runs the
// createRuntime hooks once the mounts are in place, before pivot_root, and
// takes a seccomp listener from it.
func build(b *Bootstrap, conn *Conn, log *slog.Logger) (string, error) {
	s := b.Spec
	if log.Enabled(context.Background(), slog.LevelDebug) {
		st, _ := os.ReadFile("/proc/self/status")
		uidMap, _ := os.ReadFile("/proc/self/uid_map")
		log.Debug("init credentials", "uid", os.Getuid(), "capeff", statusField(string(st), "CapEff"),
			"uid_map", strings.Join(strings.Fields(string(uidMap)), " "))
	}
	if err := joinSessionKeyring(b, log); err != nil {
		return "", err
	}
	if err := setOOMScoreAdj(s.Process.OOMScoreAdj, log); err != nil {
		return "", err
	}
	if err := enterLateNamespaces(s.Linux, log); err != nil {
		return "", err
	}
	if err := prepareRootfs(b, log); err != nil {
		return "", err
	}
	if err := createRuntimeHooks(conn, b); err != nil {
		return "", err
	}
	if s.Hooks != nil {
		if err := hooks.Run("createContainer", s.Hooks.CreateContainer, b.State, log); err != nil {
			return "", err
		}
	}
	if err := pivotRoot(b, log); err != nil {
		return "", err
	}
	if s.Process.Terminal {
		// After pivot_root: the pty must be one of the container's devpts.
		if err := setupConsole(b.consoleFD, s.Process, true, log); err != nil {
			return "", err
		}
	}
	if err := setHostname(s, log); err != nil {
		return "", err
	}
	if err := writeSysctls(s.Linux.Sysctl, log); err != nil {
		return "", err
	}
	if err := finalizeRootfs(b, log); err != nil {
		return "", err
	}
	if err := setRlimits(s.Process.Rlimits, log); err != nil {
		return "", err
	}
	if err := setProcessScheduling(s.Process, s.Linux.Personality, log); err != nil {
		return "", err
	}
	path, err := lookPath(s.Process)
	if err != nil {
		return "", err
	}
	if b.Seccomp != nil && !s.Process.NoNewPrivileges {
		// Without no_new_privs the kernel wants CAP_SYS_ADMIN to load a
		// filter: load it while init still has it. It then also covers
		// init's last steps, which every sane profile allows.
		if err := loadSeccomp(b.Seccomp, conn, log); err != nil {
			return "", err
		}
	}
	if err := setupUser(s.Process, log); err != nil {
		return "", err
	}
	if err := applyLSM(s.Process, log); err != nil {
		return "", err
	}
	if err := enterCwd(s.Process, log); err != nil {
		return "", err
	}
	if err := applyCapabilities(s.Process.Capabilities, log); err != nil {
		return "", err
	}
	if s.Process.NoNewPrivileges {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return "", fmt.Errorf("setting no_new_privs: %w", err)
		}
		log.Debug("prctl", "op", "PR_SET_NO_NEW_PRIVS", "value", 1)
		if b.Seccomp != nil && b.Seccomp.Notify {
			// The listener must reach the parent while the sync socket
			// is open, so not right before execve: here, at the end of
			// the work, as runc does. The filter then also covers
			// waiting for start and the startContainer hooks.
			if err := loadSeccomp(b.Seccomp, conn, log); err != nil {
				return "", err
			}
		}
	}
	return path, nil
}

func statusField(status, key string) string {
	for _, l := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(l, key+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// createRuntimeHooks has the parent run the prestart and createRuntime
// hooks, in the runtime's namespaces, while init waits.
func createRuntimeHooks(conn *Conn, b *Bootstrap) error {
	h := b.Spec.Hooks
	//nolint:staticcheck // Prestart is deprecated but still honoured.
	if h == nil || len(h.Prestart)+len(h.CreateRuntime) == 0 {
		return nil
	}
	if err := conn.Send(Message{Type: MsgCreateRuntime}); err != nil {
		return err
	}
	m, err := conn.Recv()
	if err != nil || m.Type != MsgContinue {
		// The parent gave up (a hook failed): it reports the error.
		os.Exit(125)
	}
	return nil
}

// waitForStart blocks until `nook-runtime start` opens exec.fifo for reading,
// then writes one byte so start knows init got past this point.
func waitForStart(stateDir int, log *slog.Logger) error {
	log.Debug("waiting for start", "fifo", fifoName)
	fd, err := unix.Openat(stateDir, fifoName, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening exec fifo: %w", err)
	}
	unix.Close(stateDir)
	if _, err := unix.Write(fd, []byte{'0'}); err != nil {
		unix.Close(fd)
		return fmt.Errorf("writing exec fifo: %w", err)
	}
	// fd stays open: execve closes it (O_CLOEXEC), and start, reading to
	// EOF, knows the program runs.
	return nil
}

const fifoName = "exec.fifo"

// newLogger writes the init's trace to LogFD, in the runtime's format.
func newLogger(b *Bootstrap, fd int) *slog.Logger {
	if !b.Debug || fd < 0 {
		return slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	out := os.NewFile(uintptr(fd), "log")
	return slog.New(tracelog.New(out, slog.LevelDebug, b.JSONLog)).With("pid", os.Getpid(), "in", "init")
}
