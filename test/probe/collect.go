package main

import (
	"fmt"
	"os"

	"github.com/nook-containers/nook/test/probe/report"
	"golang.org/x/sys/unix"
)

// collect gathers the report. Each part that fails is noted in r.Errors and
// left empty; the rest is still collected.
func collect() report.Report {
	var r report.Report
	note := func(err error) {
		if err != nil {
			r.Errors = append(r.Errors, err.Error())
		}
	}
	var err error

	// File descriptors first: the Go runtime opens an epoll and an eventfd
	// of its own on the first os.Open, and those are not the container's.
	r.FDs, err = openFDs()
	note(err)

	r.PID, r.PPID = os.Getpid(), os.Getppid()
	r.UID, r.GID, r.EUID, r.EGID = os.Getuid(), os.Getgid(), os.Geteuid(), os.Getegid()
	r.Groups, err = unix.Getgroups()
	note(wrap("reading supplementary groups", err))
	if r.Groups == nil {
		r.Groups = []int{}
	}
	old := unix.Umask(0)
	unix.Umask(old)
	r.Umask = fmt.Sprintf("%04o", old)
	// Not os.Getwd: it prefers $PWD when that names the same directory.
	r.Cwd, err = unix.Getwd()
	note(wrap("getting the working directory", err))
	r.Env = os.Environ()
	r.Hostname, r.Domainname, err = uname()
	note(err)

	r.Caps, r.NoNewPrivs, r.Seccomp, err = status()
	note(err)
	r.Namespaces, err = namespaces()
	note(err)
	r.Mounts, err = mounts()
	note(err)
	r.Cgroup, err = cgroup()
	note(err)
	r.VisiblePIDs, err = visiblePIDs()
	note(err)
	r.OOMScoreAdj, err = oomScoreAdj()
	note(err)

	// Last: recovering the NOFILE soft limit may start a child process.
	var errs []error
	r.Rlimits, errs = rlimits()
	for _, err := range errs {
		note(err)
	}
	return r
}

// wrap adds what was being done to a non-nil err.
func wrap(doing string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", doing, err)
}
