package cgroups

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// v1Hierarchies are the v1 hierarchies a container joins, keyed as in
// /proc/self/cgroup, with their directory under the root. A distribution
// that co-mounts controllers ("cpu,cpuacct") links the single names to the
// shared directory, so looking up root/<name> finds it either way.
var v1Hierarchies = []struct{ key, dir string }{
	{"blkio", "blkio"}, {"cpu", "cpu"}, {"cpuacct", "cpuacct"},
	{"cpuset", "cpuset"}, {"devices", "devices"}, {"freezer", "freezer"},
	{"hugetlb", "hugetlb"}, {"memory", "memory"}, {"misc", "misc"},
	{"net_cls", "net_cls"}, {"net_prio", "net_prio"},
	{"perf_event", "perf_event"}, {"pids", "pids"}, {"rdma", "rdma"},
	// Not a controller, but systemd tracks services by it; runc joins it too.
	{"name=systemd", "systemd"},
}

// v1Manager places a container in one directory per mounted hierarchy.
type v1Manager struct {
	log   *slog.Logger
	root  string
	mode  Mode
	path  cgroupPath
	mount map[string]string // hierarchy key -> its mount directory
	paths map[string]string // hierarchy key -> the container's directory
	// rmdir removes one cgroup directory; a test seam, since a temporary
	// directory of plain files cannot be removed with rmdir(2).
	rmdir func(string) error
}

func newV1(root string, mode Mode, p cgroupPath, log *slog.Logger) *v1Manager {
	m := &v1Manager{log: log, root: root, mode: mode, path: p,
		mount: map[string]string{}, paths: map[string]string{}, rmdir: unix.Rmdir}
	for _, h := range v1Hierarchies {
		if dir := filepath.Join(root, h.dir); exists(dir) {
			m.mount[h.key] = dir
		}
	}
	// In hybrid mode the container also gets a directory in the (usually
	// controller-less) v2 hierarchy, as runc and systemd do, so that v2
	// tools see its processes grouped; no resources are written there.
	if dir := filepath.Join(root, "unified"); mode == Hybrid && exists(dir) {
		m.mount[""] = dir
	}
	for key, mnt := range m.mount {
		m.paths[key] = filepath.Join(mnt, p.under(key))
	}
	return m
}

func (m *v1Manager) Paths() map[string]string {
	out := make(map[string]string, len(m.paths))
	for k, v := range m.paths {
		out[k] = v
	}
	return out
}

// dirs returns each distinct container directory once, in a stable order;
// co-mounted hierarchies share one.
func (m *v1Manager) dirs() []string {
	var out []string
	for _, d := range m.paths {
		out = append(out, d)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (m *v1Manager) Create(r *specs.LinuxResources) error {
	keys := make([]string, 0, len(m.mount))
	for k := range m.mount {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, key := range keys {
		var each func(dir, parent string) error
		if key == "cpuset" {
			each = func(dir, parent string) error { return inheritCpuset(m.log, dir, parent) }
		}
		err := retryCreate(func() error { return mkdirAll(m.log, m.mount[key], m.path.under(key), each) })
		if err != nil {
			return err
		}
	}
	return m.Set(r)
}

func (m *v1Manager) Set(r *specs.LinuxResources) error {
	ws, err := m.writes(r)
	if err != nil {
		return err
	}
	for _, w := range ws {
		ctrl := controllerOf(w.file)
		dir, ok := m.paths[ctrl]
		if !ok {
			return fmt.Errorf("writing %s=%s: %s controller is not mounted at %s",
				w.file, w.value, ctrl, filepath.Join(m.root, ctrl))
		}
		if err := writeFile(m.log, dir, w.file, w.value); err != nil {
			return err
		}
	}
	return nil
}

// writes translates r for v1, all of it before the first write, so an
// invalid spec changes nothing.
func (m *v1Manager) writes(r *specs.LinuxResources) ([]write, error) {
	if r == nil {
		return nil, nil
	}
	if len(r.Unified) > 0 {
		return nil, fmt.Errorf("unified resources: need cgroup v2, this host runs cgroup %s", m.mode)
	}
	hasMemsw, curMemsw := false, int64(-1)
	if r.Memory != nil && m.paths["memory"] != "" {
		hasMemsw, curMemsw = m.memsw()
	}
	has := func(ctrl string) func(string) bool {
		return func(f string) bool { return m.paths[ctrl] != "" && exists(filepath.Join(m.paths[ctrl], f)) }
	}
	if r.Network != nil || len(r.Rdma) > 0 {
		m.log.Debug("network and rdma cgroup resources are not applied yet")
	}
	var all []write
	var errs []error
	add := func(w []write, err error) {
		all = append(all, w...)
		errs = append(errs, err)
	}
	add(memoryV1(r.Memory, hasMemsw, curMemsw))
	all = append(all, cpuV1(r.CPU)...)
	all = append(all, cpusetWrites(r.CPU)...)
	all = append(all, pidsWrites(r.Pids)...)
	add(blkioV1(r.BlockIO, has("blkio")))
	add(hugetlbWrites(r.HugepageLimits, false, has("hugetlb")))
	add(devicesV1(r.Devices))
	return all, errors.Join(errs...)
}

// memsw reports whether swap accounting is on and the current
// memory+swap limit.
func (m *v1Manager) memsw() (bool, int64) {
	s, err := readFile(m.paths["memory"], "memory.memsw.limit_in_bytes")
	if err != nil {
		return false, -1
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return true, -1
	}
	return true, v
}

func (m *v1Manager) Apply(pid int) error {
	for _, dir := range m.dirs() {
		if err := writeFile(m.log, dir, "cgroup.procs", strconv.Itoa(pid)); err != nil {
			return err
		}
	}
	return nil
}

func (m *v1Manager) Pids() ([]int, error) {
	for _, key := range []string{"pids", "memory", "cpu", "freezer"} {
		if dir, ok := m.paths[key]; ok {
			return parsePids(dir)
		}
	}
	for _, dir := range m.dirs() {
		return parsePids(dir)
	}
	return nil, errors.New("listing cgroup processes: no cgroup v1 hierarchy is mounted")
}

func (m *v1Manager) Destroy() error {
	var errs []error
	for _, dir := range m.dirs() {
		errs = append(errs, rmdir(m.log, dir, m.rmdir))
	}
	if m.path.isDefault {
		for _, mnt := range m.mount {
			errs = append(errs, removeDefaultParent(filepath.Join(mnt, defaultParent)))
		}
	}
	return errors.Join(errs...)
}

func (m *v1Manager) Freeze(frozen bool) error {
	dir, ok := m.paths["freezer"]
	if !ok {
		return fmt.Errorf("freezing: freezer controller is not mounted at %s", filepath.Join(m.root, "freezer"))
	}
	return freezeV1(m.log, dir, frozen)
}

func (m *v1Manager) Stats() (*Stats, error) { return statsV1(m.paths) }
