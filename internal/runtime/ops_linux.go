package runtime

import (
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nook-containers/nook/internal/runtime/cgroups"
)

// StatePaused is the status of a container whose cgroup is frozen. The
// OCI spec has no such status; runc reports it, and containerd's runc shim
// and Docker expect it.
const StatePaused specs.ContainerState = "paused"

// ErrNotPaused is returned by Resume for a container that is not paused.
var ErrNotPaused = errors.New("container not paused")

// frozen reports whether the container's cgroup is frozen (or freezing):
// v1 freezer.state FROZEN or FREEZING, v2 cgroup.freeze 1. Container.refresh
// calls it for a live init to report StatePaused. Any read error means "not
// frozen": a container without a freezer cannot have been paused.
func frozen(c *Container) bool {
	cg, err := newCgroup(c.State.CgroupsPath, c.ID, c.State.Systemd, nil)
	if err != nil {
		return false
	}
	return cgroupFrozen(cg.Paths(), cgroups.DetectMode() == cgroups.Unified)
}

// cgroupFrozen reads the freezer state from a Manager's Paths().
func cgroupFrozen(paths map[string]string, unified bool) bool {
	if unified {
		v, err := readTrim(paths[""], "cgroup.freeze")
		return err == nil && v == "1"
	}
	v, err := readTrim(paths["freezer"], "freezer.state")
	return err == nil && (v == "FROZEN" || v == "FREEZING")
}

func readTrim(dir, file string) (string, error) {
	if dir == "" {
		return "", errors.New("no cgroup directory")
	}
	data, err := os.ReadFile(filepath.Join(dir, file))
	return strings.TrimSpace(string(data)), err
}

// status is the container's status including "paused", whether or not
// refresh already reports it.
func (c *Container) status() specs.ContainerState {
	s := c.State.Status
	if (s == specs.StateCreated || s == specs.StateRunning) && frozen(c) {
		return StatePaused
	}
	return s
}

// Status returns the container's status as runc reports it: the OCI
// statuses plus "paused".
func (c *Container) Status() specs.ContainerState { return c.status() }

// newCgroup returns the manager of a container's cgroup, for the driver
// it was created with.
func newCgroup(path, id string, systemd bool, log *slog.Logger) (cgroups.Manager, error) {
	if systemd {
		return cgroups.NewSystemd(path, id, log)
	}
	return cgroups.New(path, id, log)
}

// cgroup returns the manager of the container's cgroup.
func (c *Container) cgroup(log *slog.Logger) (cgroups.Manager, error) {
	if c.State.NoCgroup {
		return noCgroup{}, nil
	}
	return newCgroup(c.State.CgroupsPath, c.ID, c.State.Systemd, log)
}

// Pause freezes every process in the container, as runc pause does: a
// created or running container becomes paused; anything else is
// ErrNotRunning (a paused one too, like runc).
func (c *Container) Pause(log *slog.Logger) error {
	switch c.status() {
	case specs.StateCreated, specs.StateRunning:
	default:
		return ErrNotRunning
	}
	cg, err := c.cgroup(log)
	if err != nil {
		return err
	}
	if err := cg.Freeze(true); err != nil {
		return fmt.Errorf("pausing container %s: %w", c.ID, err)
	}
	c.State.Status = StatePaused
	return nil
}

// Resume thaws a paused container.
func (c *Container) Resume(log *slog.Logger) error {
	if c.status() != StatePaused {
		return ErrNotPaused
	}
	cg, err := c.cgroup(log)
	if err != nil {
		return err
	}
	if err := cg.Freeze(false); err != nil {
		return fmt.Errorf("resuming container %s: %w", c.ID, err)
	}
	c.refresh()
	return nil
}

// Processes lists the host pids of the processes in the container's
// cgroup.
func (c *Container) Processes(log *slog.Logger) ([]int, error) {
	if c.status() == specs.StateStopped {
		return nil, ErrNotRunning
	}
	cg, err := c.cgroup(log)
	if err != nil {
		return nil, err
	}
	pids, err := cg.Pids()
	if err != nil {
		return nil, fmt.Errorf("listing processes of container %s: %w", c.ID, err)
	}
	return pids, nil
}

// Alive reports whether the container's init is still the live process
// this container started; unlike Status it needs no lock, so a long-running
// reader (events) can poll it without holding the container.
func (s *State) Alive() bool {
	return s.Pid != 0 && processAlive(s.Pid, s.StartTime)
}

// StatsOf reads a container's cgroup stats from its saved state, without
// holding its lock.
func StatsOf(s *State, log *slog.Logger) (*cgroups.Stats, error) {
	cg, err := newCgroup(s.CgroupsPath, s.ID, s.Systemd, log)
	if err != nil {
		return nil, err
	}
	return cg.Stats()
}

// IOStatsOf reads a container's block I/O counts, as StatsOf.
func IOStatsOf(s *State, log *slog.Logger) (*cgroups.IOStats, error) {
	cg, err := newCgroup(s.CgroupsPath, s.ID, s.Systemd, log)
	if err != nil {
		return nil, err
	}
	return cgroups.ReadIOStats(cg)
}

// Update writes new resource limits to the container's cgroup, as runc
// update does. Only the fields set in r change. Devices are left alone (runc
// cannot update them either). On cgroup v2, where one file holds two values
// (cpu.max: quota and period) or a value depends on another (memory.swap.max
// is swap beyond memory.max), the missing half is read from the cgroup so
// that changing one does not reset the other.
//
// The new limits are not recorded in the state; the cgroup is the record.
func (c *Container) Update(r *specs.LinuxResources, log *slog.Logger) error {
	switch c.status() {
	case specs.StateCreated, specs.StateRunning, StatePaused:
	default:
		return ErrNotRunning
	}
	cg, err := c.cgroup(log)
	if err != nil {
		return err
	}
	r.Devices = nil
	if cgroups.DetectMode() == cgroups.Unified {
		if err := fillV2(r, cg.Paths()[""]); err != nil {
			return err
		}
	}
	if err := cg.Set(r); err != nil {
		return fmt.Errorf("updating container %s: %w", c.ID, err)
	}
	return nil
}

// fillV2 completes r from the v2 cgroup dir: a quota without a period
// keeps the current period, a period without a quota the current quota,
// and a memory+swap limit without a memory limit uses the current one.
func fillV2(r *specs.LinuxResources, dir string) error {
	if cpu := r.CPU; cpu != nil && ((cpu.Quota != nil) != (cpu.Period != nil)) {
		v, err := readTrim(dir, "cpu.max")
		if err != nil {
			return fmt.Errorf("reading the current cpu quota: %w", err)
		}
		quota, period, err := parseCPUMax(v)
		if err != nil {
			return fmt.Errorf("parsing %s/cpu.max %q: %w", dir, v, err)
		}
		if cpu.Quota == nil {
			cpu.Quota = &quota
		}
		if cpu.Period == nil {
			cpu.Period = &period
		}
	}
	if m := r.Memory; m != nil && m.Swap != nil && *m.Swap > 0 && (m.Limit == nil || *m.Limit == 0) {
		v, err := readTrim(dir, "memory.max")
		if err != nil {
			return fmt.Errorf("reading the current memory limit: %w", err)
		}
		if v != "max" {
			limit, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("parsing %s/memory.max %q: %w", dir, v, err)
			}
			m.Limit = &limit
		}
	}
	return nil
}

// parseCPUMax parses cpu.max: "$MAX $PERIOD", MAX "max" for no quota
// (returned as -1, the OCI spelling).
func parseCPUMax(s string) (quota int64, period uint64, err error) {
	q, p, ok := strings.Cut(s, " ")
	if !ok {
		return 0, 0, errors.New("want \"QUOTA PERIOD\"")
	}
	if period, err = strconv.ParseUint(p, 10, 64); err != nil {
		return 0, 0, err
	}
	if q == "max" {
		return -1, period, nil
	}
	quota, err = strconv.ParseInt(q, 10, 64)
	return quota, period, err
}

// ParseSize reads a size the way runc's update and Docker's --memory do
// (docker/go-units RAMInBytes): a decimal number, optionally with a
// fraction, an optional space, and an optional unit k, m, g, t or p (any
// case, powers of 1024), optionally followed by "i" and/or "b": "256m",
// "1.5G", "512 MiB", "1024", "100b". The result is rounded down to whole
// bytes and must fit in an int64.
func ParseSize(s string) (int64, error) {
	bad := func(why string) (int64, error) {
		return 0, fmt.Errorf("invalid size %q: %s", s, why)
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return bad("want a number, e.g. 256m")
	}
	if i < len(s) && s[i] == '.' {
		j := i + 1
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == i+1 {
			return bad("want digits after the decimal point")
		}
		i = j
	}
	num, unit := s[:i], strings.ToLower(s[i:])
	unit = strings.TrimPrefix(unit, " ")
	shift := 0
	if unit != "" {
		if k := strings.IndexByte("kmgtp", unit[0]); k >= 0 {
			shift = 10 * (k + 1)
			unit = strings.TrimPrefix(unit[1:], "i")
		}
	}
	if unit != "" && unit != "b" {
		return bad("unknown unit; want k, m, g, t or p, optionally followed by i and/or b")
	}
	if len(num) > 64 {
		return bad("too large")
	}
	r, ok := new(big.Rat).SetString(num)
	if !ok {
		return bad("want a number, e.g. 256m")
	}
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Lsh(big.NewInt(1), uint(shift))))
	n := new(big.Int).Quo(r.Num(), r.Denom())
	if !n.IsInt64() {
		return bad("too large")
	}
	return n.Int64(), nil
}
