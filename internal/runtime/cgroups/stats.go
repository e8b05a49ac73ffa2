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

// IOStats is a container's block I/O so far, per device, Op "Read" or
// "Write": v1 blkio.throttle.*_recursive, v2 io.stat. It is apart from
// Stats so that Stats stays comparable with ==.
type IOStats struct {
	ServiceBytes []BlkioEntry // bytes
	Serviced     []BlkioEntry // operations
}

// BlkioEntry is one device's count for one kind of operation.
type BlkioEntry struct {
	Major, Minor uint64
	Op           string
	Value        uint64
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

// ReadIOStats reads m's block I/O counts. Missing files (no blkio or io
// controller) give empty lists, not an error.
func ReadIOStats(m Manager) (*IOStats, error) {
	var st IOStats
	var r statReader
	switch m := m.(type) {
	case *v1Manager:
		if dir := m.paths["blkio"]; dir != "" {
			st.ServiceBytes = r.blkioV1(dir, "blkio.throttle.io_service_bytes_recursive")
			st.Serviced = r.blkioV1(dir, "blkio.throttle.io_serviced_recursive")
		}
	case *v2Manager:
		st.ServiceBytes, st.Serviced = r.ioStatV2(m.dir)
	}
	return &st, r.err
}

// blkioV1 parses a blkio-controller.rst "MAJ:MIN Op value" file. The
// "Total" line and ops other than Read and Write are left out.
func (s *statReader) blkioV1(dir, file string) []BlkioEntry {
	data, err := readFile(dir, file)
	if s.skip(err) {
		return nil
	}
	var out []BlkioEntry
	for line := range strings.Lines(data) {
		f := strings.Fields(line)
		if len(f) != 3 || (f[1] != "Read" && f[1] != "Write") {
			continue
		}
		if e, ok := blkioEntry(f[0], f[1], f[2]); ok {
			out = append(out, e)
		}
	}
	return out
}

// ioStatV2 parses io.stat (cgroup-v2.rst "IO Interface Files"):
// "MAJ:MIN rbytes=N wbytes=N rios=N wios=N ..." per device.
func (s *statReader) ioStatV2(dir string) (bytes, ios []BlkioEntry) {
	data, err := readFile(dir, "io.stat")
	if s.skip(err) {
		return nil, nil
	}
	for line := range strings.Lines(data) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		for _, kv := range f[1:] {
			k, v, _ := strings.Cut(kv, "=")
			dst, op := &bytes, ""
			switch k {
			case "rbytes":
				op = "Read"
			case "wbytes":
				op = "Write"
			case "rios":
				dst, op = &ios, "Read"
			case "wios":
				dst, op = &ios, "Write"
			default:
				continue
			}
			if e, ok := blkioEntry(f[0], op, v); ok {
				*dst = append(*dst, e)
			}
		}
	}
	return bytes, ios
}

func blkioEntry(dev, op, value string) (BlkioEntry, bool) {
	maj, mnr, ok := strings.Cut(dev, ":")
	if !ok {
		return BlkioEntry{}, false
	}
	var e BlkioEntry
	var err1, err2, err3 error
	e.Major, err1 = strconv.ParseUint(maj, 10, 64)
	e.Minor, err2 = strconv.ParseUint(mnr, 10, 64)
	e.Value, err3 = strconv.ParseUint(value, 10, 64)
	e.Op = op
	return e, err1 == nil && err2 == nil && err3 == nil
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
