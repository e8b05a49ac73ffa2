package main

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"github.com/nook-containers/nook/test/probe/report"
	"golang.org/x/sys/unix"
)

var rlimitNames = []struct {
	name     string
	resource int
}{
	{"RLIMIT_AS", unix.RLIMIT_AS},
	{"RLIMIT_CORE", unix.RLIMIT_CORE},
	{"RLIMIT_CPU", unix.RLIMIT_CPU},
	{"RLIMIT_DATA", unix.RLIMIT_DATA},
	{"RLIMIT_FSIZE", unix.RLIMIT_FSIZE},
	{"RLIMIT_LOCKS", unix.RLIMIT_LOCKS},
	{"RLIMIT_MEMLOCK", unix.RLIMIT_MEMLOCK},
	{"RLIMIT_MSGQUEUE", unix.RLIMIT_MSGQUEUE},
	{"RLIMIT_NICE", unix.RLIMIT_NICE},
	{"RLIMIT_NOFILE", unix.RLIMIT_NOFILE},
	{"RLIMIT_NPROC", unix.RLIMIT_NPROC},
	{"RLIMIT_RSS", unix.RLIMIT_RSS},
	{"RLIMIT_RTPRIO", unix.RLIMIT_RTPRIO},
	{"RLIMIT_RTTIME", unix.RLIMIT_RTTIME},
	{"RLIMIT_SIGPENDING", unix.RLIMIT_SIGPENDING},
	{"RLIMIT_STACK", unix.RLIMIT_STACK},
}

// rlimits reads every resource limit. RLIM_INFINITY is ^uint64(0)
// (report.Unlimited) on all Linux architectures through prlimit64.
func rlimits() (map[string]report.Rlimit, []error) {
	lims := make(map[string]report.Rlimit, len(rlimitNames))
	var errs []error
	for _, r := range rlimitNames {
		var l unix.Rlimit
		if err := unix.Getrlimit(r.resource, &l); err != nil {
			errs = append(errs, fmt.Errorf("reading %s: %w", r.name, err))
			continue
		}
		lims[r.name] = report.Rlimit{l.Cur, l.Max}
	}

	// At start the Go runtime raises its soft NOFILE limit to hard-1 when it
	// is lower (syscall/rlimit.go, go.dev/issue/46279), so hard-1 here may
	// not be what the container was given.
	if nofile, ok := lims["RLIMIT_NOFILE"]; ok && nofile.Hard() > 0 && nofile.Soft() == nofile.Hard()-1 {
		soft, err := startNofile()
		if err != nil {
			errs = append(errs, fmt.Errorf("recovering the RLIMIT_NOFILE soft limit the Go runtime raised (reporting the raised one): %w", err))
		} else {
			lims["RLIMIT_NOFILE"] = report.Rlimit{soft, nofile.Hard()}
		}
	}
	return lims, errs
}

// startNofile returns the soft RLIMIT_NOFILE the probe was started with.
//
// The Go runtime puts the original soft limit back in every child it starts,
// just before execve. A child started under ptrace (PTRACE_TRACEME) stops
// with SIGTRAP right after execve, before any of its own code runs, so its
// limit is still the original: read it with prlimit, then kill the child.
func startNofile() (uint64, error) {
	self, err := os.Executable()
	if err != nil {
		self = os.Args[0]
	}
	cmd := exec.Command(self, "sleep", "0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Ptrace: true}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("starting a traced child: %w", err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	var l unix.Rlimit
	if err := unix.Prlimit(cmd.Process.Pid, unix.RLIMIT_NOFILE, nil, &l); err != nil {
		return 0, fmt.Errorf("reading the child's limit: %w", err)
	}
	return l.Cur, nil
}
