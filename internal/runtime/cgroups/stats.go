package cgroups

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Stats is a snapshot of a container's resource use, the part `nook stats`
// and `events --stats` show. A field whose controller is not enabled, or
// whose file the kernel lacks, is zero.
type Stats struct {
	CPUUsage       uint64 // CPU time used, user+system, in nanoseconds
	MemoryUsage    uint64 // bytes charged now, page cache included
	MemoryMaxUsage uint64 // highest MemoryUsage seen (v2: Linux 5.19+ memory.peak)
	MemoryLimit    uint64 // bytes; 0 means no limit
	PidsCurrent    uint64 // tasks (threads) in the cgroup
	PidsLimit      uint64 // 0 means no limit
	OOMKills       uint64 // processes the OOM killer killed in the cgroup
}

// statReader reads stats files, tolerating missing ones and keeping the
// first real error.
type statReader struct{ err error }

func (s *statReader) skip(err error) bool {
	if err != nil && !errors.Is(err, os.ErrNotExist) && s.err == nil {
		s.err = err
	}
	return err != nil
}

func (s *statReader) uint(dst *uint64, dir, file string) {
	if dir == "" {
		return
	}
	v, err := readUint(dir, file)
	if !s.skip(err) {
		*dst = v
	}
}

func (s *statReader) keyed(dst *uint64, dir, file, key string) {
	if dir == "" {
		return
	}
	v, err := readKeyed(dir, file, key)
	if !s.skip(err) {
		*dst = v
	}
}

// v1NoLimit: v1 shows "no limit" as PAGE_COUNTER_MAX pages in bytes
// (9223372036854771712 with 4 KiB pages), not as -1 or "max".
const v1NoLimit = 1 << 62

func statsV1(paths map[string]string) (*Stats, error) {
	var st Stats
	var r statReader
	r.uint(&st.CPUUsage, paths["cpuacct"], "cpuacct.usage")
	mem := paths["memory"]
	r.uint(&st.MemoryUsage, mem, "memory.usage_in_bytes")
	r.uint(&st.MemoryMaxUsage, mem, "memory.max_usage_in_bytes")
	r.uint(&st.MemoryLimit, mem, "memory.limit_in_bytes")
	if st.MemoryLimit >= v1NoLimit {
		st.MemoryLimit = 0
	}
	r.keyed(&st.OOMKills, mem, "memory.oom_control", "oom_kill") // Linux 4.13+
	r.uint(&st.PidsCurrent, paths["pids"], "pids.current")
	r.uint(&st.PidsLimit, paths["pids"], "pids.max")
	return &st, r.err
}

func statsV2(dir string) (*Stats, error) {
	var st Stats
	var r statReader
	var usec uint64
	r.keyed(&usec, dir, "cpu.stat", "usage_usec") // present even without the cpu controller
	st.CPUUsage = usec * 1000
	r.uint(&st.MemoryUsage, dir, "memory.current")
	r.uint(&st.MemoryMaxUsage, dir, "memory.peak")
	r.uint(&st.MemoryLimit, dir, "memory.max")
	r.keyed(&st.OOMKills, dir, "memory.events", "oom_kill")
	r.uint(&st.PidsCurrent, dir, "pids.current")
	r.uint(&st.PidsLimit, dir, "pids.max")
	return &st, r.err
}

// parsePids parses cgroup.procs: one pid per line.
func parsePids(dir string) ([]int, error) {
	s, err := readFile(dir, "cgroup.procs")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(s) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("parsing %s/cgroup.procs: %w", dir, err)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}
