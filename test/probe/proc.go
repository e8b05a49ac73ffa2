package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/nook-containers/nook/test/probe/report"
	"golang.org/x/sys/unix"
)

// openFDs lists /proc/self/fd with raw system calls, so that nothing of the
// Go runtime's shows up, and leaves out the descriptor it reads the list with.
func openFDs() (map[int]string, error) {
	dir, err := unix.Open("/proc/self/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("listing file descriptors: open /proc/self/fd: %w", err)
	}
	defer unix.Close(dir)
	var names []string
	buf := make([]byte, 8192)
	for {
		n, err := unix.Getdents(dir, buf)
		if err != nil {
			return nil, fmt.Errorf("listing file descriptors: %w", err)
		}
		if n <= 0 {
			break
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
	fds := make(map[int]string, len(names))
	for _, name := range names {
		fd, err := strconv.Atoi(name)
		if err != nil || fd == dir {
			continue
		}
		n, err := unix.Readlinkat(dir, name, buf)
		if err != nil {
			// Closed since the listing; not an error worth reporting.
			continue
		}
		fds[fd] = string(buf[:n])
	}
	return fds, nil
}

func uname() (host, domain string, err error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", "", fmt.Errorf("uname: %w", err)
	}
	return unix.ByteSliceToString(u.Nodename[:]), unix.ByteSliceToString(u.Domainname[:]), nil
}

// status reads capabilities, no_new_privs and the seccomp mode from
// /proc/self/status.
func status() (c report.Caps, noNewPrivs bool, seccomp int, err error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return c, false, 0, fmt.Errorf("reading status: %w", err)
	}
	st := parseStatus(string(b))
	var errs []error
	capSet := func(key string) report.CapSet {
		s, err := parseCapSet(st[key])
		if err != nil {
			errs = append(errs, fmt.Errorf("status %s: %w", key, err))
		}
		return s
	}
	c = report.Caps{
		Bounding:    capSet("CapBnd"),
		Effective:   capSet("CapEff"),
		Permitted:   capSet("CapPrm"),
		Inheritable: capSet("CapInh"),
		Ambient:     capSet("CapAmb"),
	}
	noNewPrivs = st["NoNewPrivs"] == "1"
	seccomp, err = strconv.Atoi(st["Seccomp"])
	if err != nil {
		errs = append(errs, fmt.Errorf("status Seccomp: %q is not a number", st["Seccomp"]))
	}
	return c, noNewPrivs, seccomp, errors.Join(errs...)
}

// parseStatus splits /proc/<pid>/status ("Key:\tvalue" lines) into a map.
func parseStatus(s string) map[string]string {
	m := make(map[string]string)
	for line := range strings.Lines(s) {
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

// nsNames are the entries of /proc/self/ns the report covers.
var nsNames = []string{
	"cgroup", "ipc", "mnt", "net", "pid", "pid_for_children",
	"time", "time_for_children", "user", "uts",
}

// namespaces maps each namespace to its inode. Entries the kernel lacks are
// skipped silently; others that cannot be read are errors.
func namespaces() (map[string]uint64, error) {
	ns := make(map[string]uint64)
	var errs []error
	for _, name := range nsNames {
		link, err := os.Readlink("/proc/self/ns/" + name)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("reading namespace: %w", err))
			continue
		}
		_, ino, err := parseNSLink(link)
		if err != nil {
			errs = append(errs, fmt.Errorf("reading namespace %s: %w", name, err))
			continue
		}
		ns[name] = ino
	}
	return ns, errors.Join(errs...)
}

// parseNSLink splits a namespace link target such as "net:[4026531840]" into
// its type and inode. (pid_for_children's target says "pid:[...]".)
func parseNSLink(link string) (typ string, ino uint64, err error) {
	typ, rest, ok := strings.Cut(link, ":[")
	if !ok || typ == "" || !strings.HasSuffix(rest, "]") {
		return "", 0, fmt.Errorf("malformed namespace link %q", link)
	}
	ino, err = strconv.ParseUint(strings.TrimSuffix(rest, "]"), 10, 64)
	if err != nil {
		return "", 0, fmt.Errorf("malformed namespace link %q", link)
	}
	return typ, ino, nil
}

// visiblePIDs lists the process directories of /proc.
func visiblePIDs() ([]int, error) {
	f, err := os.Open("/proc")
	if err != nil {
		return nil, fmt.Errorf("listing processes: %w", err)
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("listing processes: %w", err)
	}
	pids := []int{}
	for _, n := range names {
		if pid, err := strconv.Atoi(n); err == nil {
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids)
	return pids, nil
}

func oomScoreAdj() (int, error) {
	b, err := os.ReadFile("/proc/self/oom_score_adj")
	if err != nil {
		return 0, fmt.Errorf("reading oom_score_adj: %w", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("reading oom_score_adj: %q is not a number", b)
	}
	return n, nil
}
