package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/nook-containers/nook/test/probe/report"
)

// limitFiles are the limit files read when a cgroup filesystem is mounted
// at /sys/fs/cgroup: v2 first, then v1. Missing ones are skipped.
var limitFiles = []string{
	"/sys/fs/cgroup/memory.max",
	"/sys/fs/cgroup/pids.max",
	"/sys/fs/cgroup/cpu.max",
	"/sys/fs/cgroup/memory/memory.limit_in_bytes",
	"/sys/fs/cgroup/pids/pids.max",
	"/sys/fs/cgroup/cpu/cpu.cfs_quota_us",
	"/sys/fs/cgroup/cpu/cpu.cfs_period_us",
}

func cgroup() (report.Cgroup, error) {
	c := report.Cgroup{Lines: []string{}, Limits: map[string]string{}}
	var errs []error
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		errs = append(errs, fmt.Errorf("reading cgroup: %w", err))
	}
	for line := range strings.Lines(string(b)) {
		if line = strings.TrimSpace(line); line != "" {
			c.Lines = append(c.Lines, line)
		}
	}
	for _, path := range limitFiles {
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("reading cgroup limit: %w", err))
			continue
		}
		c.Limits[path] = strings.TrimSpace(string(b))
	}
	return c, errors.Join(errs...)
}
