package initproc

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// lookPath finds process.args[0] inside the container the way execvp(3)
// does, so that a missing or non-executable program is a create-time error
// with a Docker-style status: 127 not found, 126 cannot execute.
func lookPath(p *specs.Process) (string, error) {
	name := p.Args[0]
	if strings.Contains(name, "/") {
		path := name
		if !filepath.IsAbs(path) {
			path = filepath.Join(p.Cwd, path)
		}
		if err := checkExecutable(path); err != nil {
			return "", execError(name, err)
		}
		return path, nil
	}
	for _, dir := range filepath.SplitList(envValue(p.Env, "PATH")) {
		if dir == "" {
			dir = "."
		}
		path := filepath.Join(dir, name)
		if err := checkExecutable(path); err == nil {
			return path, nil
		}
	}
	return "", &stepError{code: 127, err: fmt.Errorf("exec %q: executable file not found in $PATH", name)}
}

func checkExecutable(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st.IsDir() {
		return unix.EACCES
	}
	return unix.Access(path, unix.X_OK)
}

func execError(name string, err error) error {
	code := 126
	if errors.Is(err, fs.ErrNotExist) {
		code = 127
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return &stepError{code: code, err: fmt.Errorf("exec %q: %w", name, err)}
}

func envValue(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], key+"="); ok {
			return v
		}
	}
	return ""
}

// enterCwd changes to process.cwd, as the container's user, inside the new
// root: after pivot_root no path can lead out of it.
//
// Except through a magic link: init still holds fds of the host (the state
// dir, the sync socket), and a cwd of "/proc/self/fd/N" would follow one of
// them out of the root (CVE-2024-21626). So the cwd is checked after the
// chdir: getcwd(2) of a directory outside the root is not an absolute path
// ("(unreachable)/..."), and that is refused.
func enterCwd(p *specs.Process, log *slog.Logger) error {
	if err := unix.Chdir(p.Cwd); err != nil {
		return fmt.Errorf("changing to cwd %q: %w", p.Cwd, err)
	}
	buf := make([]byte, unix.PathMax)
	n, err := unix.Getcwd(buf)
	if err == nil && (n < 2 || buf[0] != '/') {
		err = unix.ENOENT
	}
	if err != nil {
		unix.Chdir("/")
		return fmt.Errorf("cwd %q is outside the container's root: %w", p.Cwd, err)
	}
	log.Debug("chdir", "dir", p.Cwd, "resolved", string(buf[:n-1]))
	return nil
}

// execProgram replaces init with the user's program: HOME, stray fds closed
// on exec, then execve. It returns only on failure.
func execProgram(path string, p *specs.Process, preserveFDs int, log *slog.Logger) error {
	env := p.Env
	if envValue(env, "HOME") == "" {
		env = append(env[:len(env):len(env)], "HOME="+homeFor(p.User.UID))
	}
	if err := closeExtraFDs(3 + preserveFDs); err != nil {
		return err
	}
	resetSignals()
	log.Debug("execve", "path", path, "argv", strings.Join(p.Args, " "), "cwd", p.Cwd)
	err := unix.Exec(path, p.Args, env)
	return execError(p.Args[0], err)
}

// closeExtraFDs marks every fd from first on close-on-exec, so that nothing
// of the host — a directory fd, a socket, the runtime's log — reaches the
// program (CVE-2024-21626: a leaked directory fd let a container walk the
// host's filesystem). /proc/self/fd is read through an fd of its own, which is
// closed before the exec too.
func closeExtraFDs(first int) error {
	if err := unix.CloseRange(uint(first), ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err == nil {
		return nil
	}
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("listing open fds: %w", err)
	}
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err == nil && fd >= first {
			unix.CloseOnExec(fd)
		}
	}
	return nil
}

// resetSignals makes the program start with every signal at its default
// action. execve resets caught signals but keeps ignored ones, so a
// runtime (or engine) started with SIGINT or SIGPIPE ignored would pass that
// on: ^C would not stop a shell's foreground job and `yes | head` would
// not end. So every signal that is ignored now is set back to SIG_DFL.
//
// With raw rt_sigaction(2) calls, two per signal: os/signal would start
// Go's signal-handling thread and hand every signal to it and back (two
// thread switches each), some 7 ms right before execve.
func resetSignals() {
	for s := 1; s <= 64; s++ {
		// 32 and 33, glibc's own (SIGCANCEL, SIGSETXID), are reset too:
		// a program inherits them ignored as any other (seen: SigIgn
		// bit 31 from a CI shell), and glibc sets its handlers itself.
		if s == int(unix.SIGKILL) || s == int(unix.SIGSTOP) {
			continue
		}
		var old kernelSigaction
		if rtSigaction(s, nil, &old) != nil || old.handler != sigIgn {
			continue
		}
		// The zero value is SIG_DFL, no flags, an empty mask.
		rtSigaction(s, &kernelSigaction{}, nil)
	}
}

// kernelSigaction is the kernel's struct sigaction (not glibc's): on amd64
// and arm64 handler, flags, restorer, then a 64-bit mask.
type kernelSigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

const sigIgn = 1 // SIG_IGN

// rtSigaction is rt_sigaction(2); x/sys/unix has no wrapper. The last
// argument is the size of the kernel's sigset_t.
func rtSigaction(sig int, act, old *kernelSigaction) error {
	_, _, errno := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig),
		uintptr(unsafe.Pointer(act)), uintptr(unsafe.Pointer(old)), 8, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}
