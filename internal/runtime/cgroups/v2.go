package cgroups

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/cilium/ebpf/asm"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// v2Manager places a container in one directory of the unified hierarchy.
type v2Manager struct {
	log  *slog.Logger
	root string
	path cgroupPath
	dir  string
	// rmdir removes one cgroup directory; a test seam, as in v1Manager.
	rmdir func(string) error
	// attachDevices loads and attaches the device filter; a test seam,
	// since loading BPF needs root and a real cgroup.
	attachDevices func(log *slog.Logger, dir string, insns asm.Instructions) error
}

func newV2(root string, p cgroupPath, log *slog.Logger) *v2Manager {
	return &v2Manager{log: log, root: root, path: p,
		dir: filepath.Join(root, p.under("")), rmdir: unix.Rmdir, attachDevices: attachDevices}
}

func (m *v2Manager) Paths() map[string]string { return map[string]string{"": m.dir} }

// Create makes the directories top-down and, in each parent on the way,
// enables the controllers the container needs: on v2 a controller's files
// appear in a cgroup only when its parent lists it in
// cgroup.subtree_control (cgroup-v2.rst "Enabling and Disabling").
func (m *v2Manager) Create(r *specs.LinuxResources) error {
	// Translate with no files present just to learn which controllers the
	// writes go to; Set reports translation errors.
	ws, _ := m.writes(r, func(string) bool { return false })
	need := map[string]bool{}
	for _, w := range ws {
		need[controllerOf(w.file)] = true
	}
	err := retryCreate(func() error {
		return mkdirAll(m.log, m.root, m.path.under(""), func(_, parent string) error {
			return m.enableControllers(parent, need)
		})
	})
	if err != nil {
		return err
	}
	return m.Set(r)
}

// enableControllers enables in parent's cgroup.subtree_control every
// controller parent has, so Stats and later updates find their files too.
// That fails with EBUSY in a cgroup that holds processes itself, for
// domain controllers (the "no internal processes" rule), and EINVAL for
// cpu while real-time tasks are inside; then each controller is tried
// alone and only a needed one that fails is an error.
func (m *v2Manager) enableControllers(parent string, need map[string]bool) error {
	avail, err := readFile(parent, "cgroup.controllers")
	if err != nil {
		return err
	}
	on, err := readFile(parent, "cgroup.subtree_control")
	if err != nil {
		return err
	}
	var missing []string
	for _, c := range strings.Fields(avail) {
		if !slices.Contains(strings.Fields(on), c) {
			missing = append(missing, "+"+c)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if writeFile(m.log, parent, "cgroup.subtree_control", strings.Join(missing, " ")) == nil {
		return nil
	}
	for _, c := range missing {
		err := writeFile(m.log, parent, "cgroup.subtree_control", c)
		if err != nil && need[c[1:]] {
			return err
		}
		if err != nil {
			m.log.Debug("controller not enabled", "dir", parent, "controller", c[1:], "err", err)
		}
	}
	return nil
}

func (m *v2Manager) Set(r *specs.LinuxResources) error {
	ws, err := m.writes(r, func(f string) bool { return exists(filepath.Join(m.dir, f)) })
	if err != nil {
		return err
	}
	// With no rules the device filter is left as it is, as on v1.
	var devs asm.Instructions
	if r != nil && len(r.Devices) > 0 {
		if devs, err = devicesV2(r.Devices); err != nil {
			return err
		}
	}
	for _, w := range ws {
		if err := writeFile(m.log, m.dir, w.file, w.value); err != nil {
			return err
		}
	}
	if devs == nil {
		return nil
	}
	m.log.Debug("devices bpf", "cgroup", m.dir, "rules", len(r.Devices), "insns", len(devs))
	return m.attachDevices(m.log, m.dir, devs)
}

// writes translates r for v2, all of it before the first write. has
// reports whether the container's cgroup has a file.
func (m *v2Manager) writes(r *specs.LinuxResources, has func(string) bool) ([]write, error) {
	if r == nil {
		return nil, nil
	}
	if mem := r.Memory; mem != nil && (mem.Swappiness != nil || mem.DisableOOMKiller != nil || mem.Kernel != nil || mem.KernelTCP != nil) {
		m.log.Debug("memory swappiness, disableOOMKiller and kernel limits have no cgroup v2 file; ignored")
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
	add(memoryV2(r.Memory))
	add(cpuV2(r.CPU))
	all = append(all, cpusetWrites(r.CPU)...)
	all = append(all, pidsWrites(r.Pids)...)
	add(ioV2(r.BlockIO, has))
	add(hugetlbWrites(r.HugepageLimits, true, has))
	add(unifiedWrites(r.Unified))
	return all, errors.Join(errs...)
}

// unifiedWrites passes the spec's "unified" map through: each key is a
// file in the container's cgroup, written in sorted order so runs repeat.
// Keys are file names only; a path could escape the cgroup.
func unifiedWrites(u map[string]string) ([]write, error) {
	keys := make([]string, 0, len(u))
	for k := range u {
		if k == "" || k == "." || k == ".." || strings.Contains(k, "/") {
			return nil, fmt.Errorf("unified resource %q: not a cgroup file name", k)
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	w := make([]write, 0, len(keys))
	for _, k := range keys {
		w = append(w, write{k, u[k]})
	}
	return w, nil
}

func (m *v2Manager) Apply(pid int) error {
	return writeFile(m.log, m.dir, "cgroup.procs", strconv.Itoa(pid))
}

func (m *v2Manager) Pids() ([]int, error) { return parsePids(m.dir) }

func (m *v2Manager) Destroy() error {
	err := rmdir(m.log, m.dir, m.rmdir)
	if m.path.isDefault {
		err = errors.Join(err, removeDefaultParent(filepath.Join(m.root, defaultParent)))
	}
	return err
}

func (m *v2Manager) Freeze(frozen bool) error { return freezeV2(m.log, m.dir, frozen) }

func (m *v2Manager) Stats() (*Stats, error) { return statsV2(m.dir) }
