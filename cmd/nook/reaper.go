package main

import (
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// reaper is --init: the nook binary mounted read-only at /dev/init runs as
// the container's PID 1 (`/dev/init -- CMD...`). It starts CMD, passes it
// every signal, reaps every orphan that is re-parented to it, and exits
// with CMD's status, as tini does for Docker.
func reaper(args []string) int {
	if len(args) == 0 {
		os.Stderr.WriteString("init: no command\n")
		return 125
	}
	sigc := make(chan os.Signal, 32)
	signal.Notify(sigc)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// Its own process group in the foreground of the terminal, if any, so
	// that ^C reaches it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Foreground: isTerminal(0), Ctty: 0}
	if err := cmd.Start(); err != nil {
		os.Stderr.WriteString("init: " + err.Error() + "\n")
		if os.IsNotExist(err) || err == exec.ErrNotFound {
			return 127
		}
		return 126
	}
	child := cmd.Process.Pid
	for s := range sigc {
		sig := s.(unix.Signal)
		if sig != unix.SIGCHLD {
			if sig != unix.SIGURG && sig != unix.SIGWINCH {
				unix.Kill(child, sig)
			}
			continue
		}
		for {
			var ws unix.WaitStatus
			pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
			if pid == child {
				if ws.Signaled() {
					return 128 + int(ws.Signal())
				}
				return ws.ExitStatus()
			}
		}
	}
	return 0
}

func isTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}
