package cgroups

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The systemd driver (runc --systemd-cgroup). On a host that systemd
// boots, systemd owns the cgroup tree: it places every process in a unit
// and may rewrite what it finds in a unit's cgroup. Here the container's
// cgroup is a transient unit of its own — a scope holding init, with
// Delegate=yes so that what happens below it is the container's business —
// started over D-Bus, with the resources given as unit properties as well
// as written to the cgroup files: a `systemctl daemon-reload` re-applies
// the properties, and a limit known only to cgroupfs would be lost then.
// This is what runc and crun do, and what containerd (SystemdCgroup=true),
// Kubernetes' systemd cgroup driver and Podman's default on systemd hosts
// expect.

// ErrNoSystemd is returned when systemd does not run this host.
var ErrNoSystemd = errors.New("systemd is not running on this host (no /run/systemd/system)")

// SystemdRunning reports whether systemd booted this host, as
// sd_booted(3) decides.
func SystemdRunning() bool {
	st, err := os.Lstat("/run/systemd/system")
	return err == nil && st.IsDir()
}

// systemdUnit is a parsed "slice:prefix:name" cgroupsPath.
type systemdUnit struct {
	slice string // the parent slice, "system.slice" when the path names none
	name  string // the unit: "prefix-name.scope", or a "*.slice" of its own
	rel   string // the unit's cgroup below each hierarchy root
}

// scope reports whether the unit is a scope (it holds init) rather than a
// slice (init joins it through cgroupfs).
func (u systemdUnit) scope() bool { return strings.HasSuffix(u.name, ".scope") }

// parseSystemdPath parses cgroupsPath as runc does for its systemd driver:
// "slice:prefix:name" makes the scope "prefix-name.scope" in slice, a name
// ending in ".slice" is a slice unit itself, and an empty path means
// "system.slice:nook:<id>".
func parseSystemdPath(cgroupsPath, id string) (systemdUnit, error) {
	if cgroupsPath == "" {
		cgroupsPath = "system.slice:nook:" + id
	}
	parts := strings.Split(cgroupsPath, ":")
	if len(parts) != 3 {
		return systemdUnit{}, fmt.Errorf("expected cgroupsPath to be of format \"slice:prefix:name\" for systemd cgroups, got %q instead", cgroupsPath)
	}
	slice, prefix, name := parts[0], parts[1], parts[2]
	if slice == "" {
		slice = "system.slice"
	}
	parent, err := expandSlice(slice)
	if err != nil {
		return systemdUnit{}, err
	}
	u := systemdUnit{slice: slice}
	switch {
	case name == "":
		return systemdUnit{}, fmt.Errorf("cgroupsPath %q: the name (after the second colon) is empty", cgroupsPath)
	case strings.HasSuffix(name, ".slice"):
		// A slice is placed by its name alone (a-b.slice lives in a.slice).
		u.name = name
		if u.rel, err = expandSlice(name); err != nil {
			return systemdUnit{}, err
		}
		return u, checkUnitName(u.name)
	case prefix == "":
		u.name = name + ".scope"
	default:
		u.name = prefix + "-" + name + ".scope"
	}
	u.rel = strings.TrimSuffix(parent, "/") + "/" + u.name
	return u, checkUnitName(u.name)
}

// checkUnitName refuses what systemd would not take as a unit name
// (systemd.unit(5): ASCII letters, digits, ":", "-", "_", ".", "\").
func checkUnitName(name string) error {
	if len(name) > 255 {
		return fmt.Errorf("systemd unit name %q: longer than 255 characters", name)
	}
	for _, r := range name {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune(":-_.\\", r)) {
			return fmt.Errorf("systemd unit name %q: %q is not allowed in a unit name", name, r)
		}
	}
	return nil
}

// expandSlice turns a slice name into its cgroup path: systemd nests
// slices by the dashes in their names, so "a-b-c.slice" is
// /a.slice/a-b.slice/a-b-c.slice, and "-.slice" is the root.
func expandSlice(slice string) (string, error) {
	base, ok := strings.CutSuffix(slice, ".slice")
	if !ok || base == "" || strings.Contains(slice, "/") {
		return "", fmt.Errorf("invalid slice name %q: want NAME.slice", slice)
	}
	if base == "-" {
		return "/", nil
	}
	var path, prefix strings.Builder
	for c := range strings.SplitSeq(base, "-") {
		if c == "" {
			return "", fmt.Errorf("invalid slice name %q: empty part between dashes", slice)
		}
		path.WriteString("/" + prefix.String() + c + ".slice")
		prefix.WriteString(c + "-")
	}
	return path.String(), nil
}

// property is one systemd unit property, a D-Bus (sv) pair.
type property struct {
	Name  string
	Value any
}

// systemdBus is what the driver asks of systemd; dbus.go talks to the real
// one, the unit tests to a fake.
type systemdBus interface {
	// StartTransientUnit starts the unit and waits for its job to finish.
	StartTransientUnit(name string, props []property) error
	// SetUnitProperties changes a running unit's properties (runtime only).
	SetUnitProperties(name string, props []property) error
	// StopUnit stops the unit and waits for it; a unit systemd no longer
	// knows is not an error.
	StopUnit(name string) error
	// ResetFailedUnit forgets a failed unit, so that its name can be used
	// again; errors are of no interest.
	ResetFailedUnit(name string)
	Close() error
}

// NewSystemd returns the Manager of a container whose cgroup is a
// transient systemd unit named by cgroupsPath ("slice:prefix:name"). Like
// New it computes names and paths only; the unit starts with Apply, since
// a scope cannot exist without a process in it.
func NewSystemd(cgroupsPath, id string, log *slog.Logger) (Manager, error) {
	if !SystemdRunning() {
		return nil, ErrNoSystemd
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("the systemd cgroup driver needs root (systemd --user managers are not supported)")
	}
	m, err := newSystemdAt(DefaultRoot, DetectMode(), cgroupsPath, id, log, dialSystemd)
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return m, nil
}

func newSystemdAt(root string, mode Mode, cgroupsPath, id string, log *slog.Logger, dial func() (systemdBus, error)) (*systemdManager, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	u, err := parseSystemdPath(cgroupsPath, id)
	if err != nil {
		return nil, err
	}
	fs, err := NewAt(root, mode, u.rel, id, log)
	if err != nil {
		return nil, err
	}
	return &systemdManager{log: log, id: id, unit: u, mode: mode, fs: fs, dial: dial}, nil
}

// systemdManager is the systemd driver: systemd makes and removes the
// unit, and the cgroupfs manager at the unit's path does the rest —
// resources systemd has no property for, v1 hierarchies systemd does not
// manage (freezer, cpuset, ...), the v2 device filter, freezing, stats.
type systemdManager struct {
	log  *slog.Logger
	id   string
	unit systemdUnit
	mode Mode
	fs   Manager
	dial func() (systemdBus, error)
	res  *specs.LinuxResources // from Create, applied when the unit starts
	// created and started: this manager is making the container (Create
	// was called) and has started its unit. Destroy after a failed start
	// must not stop a unit of that name: it is someone else's.
	created, started bool
}

// Create checks r and keeps it for Apply: the unit is started with init in
// it, and init does not exist yet.
func (m *systemdManager) Create(r *specs.LinuxResources) error {
	if _, err := unitResources(r, m.mode); err != nil {
		return err
	}
	m.res = r
	m.created = true
	return nil
}

// Apply, for the manager that creates the container (Create was called),
// starts the unit with pid in it (a slice is started empty, and pid joins
// through cgroupfs), then completes the cgroups as the cgroupfs driver
// would: directories in the hierarchies systemd left alone, resource
// files, the device filter. For any other (exec), pid joins the running
// container's cgroups.
func (m *systemdManager) Apply(pid int) error {
	if !m.created {
		return m.fs.Apply(pid)
	}
	res, err := unitResources(m.res, m.mode)
	if err != nil {
		return err
	}
	props := []property{
		{"Description", "nook container " + m.id},
		// Only this unit's own start matters: no ordering after basic.target.
		{"DefaultDependencies", false},
		{"MemoryAccounting", true}, {"CPUAccounting", true}, {"TasksAccounting", true},
	}
	if m.mode == Unified {
		props = append(props, property{"IOAccounting", true})
	} else {
		props = append(props, property{"BlockIOAccounting", true})
	}
	if m.unit.scope() {
		props = append(props, property{"Slice", m.unit.slice}, property{"Delegate", true},
			property{"PIDs", []uint32{uint32(pid)}})
	} else {
		props = append(props, property{"Wants", []string{m.unit.slice}})
	}
	props = append(props, res...)
	bus, err := m.dial()
	if err != nil {
		return err
	}
	defer bus.Close()
	// A unit of the same name that failed earlier would refuse the start.
	bus.ResetFailedUnit(m.unit.name)
	if err := bus.StartTransientUnit(m.unit.name, props); err != nil {
		return fmt.Errorf("starting systemd unit %s: %w", m.unit.name, err)
	}
	m.started = true
	m.log.Debug("systemd unit started", "unit", m.unit.name, "cgroup", m.unit.rel)
	if err := m.fs.Create(m.res); err != nil {
		return err
	}
	return m.fs.Apply(pid)
}

// Set updates the unit's properties and then the cgroup files.
func (m *systemdManager) Set(r *specs.LinuxResources) error {
	props, err := unitResources(r, m.mode)
	if err != nil {
		return err
	}
	if len(props) > 0 {
		bus, err := m.dial()
		if err != nil {
			return err
		}
		defer bus.Close()
		if err := bus.SetUnitProperties(m.unit.name, props); err != nil {
			return fmt.Errorf("updating systemd unit %s: %w", m.unit.name, err)
		}
	}
	return m.fs.Set(r)
}

// Destroy stops the unit (systemd removes its cgroup) and removes what is
// left in the hierarchies systemd does not manage.
func (m *systemdManager) Destroy() error {
	if m.created && !m.started {
		return nil
	}
	bus, err := m.dial()
	if err != nil {
		return errors.Join(err, m.fs.Destroy())
	}
	defer bus.Close()
	return errors.Join(m.stop(bus), m.fs.Destroy())
}

func (m *systemdManager) stop(bus systemdBus) error {
	err := bus.StopUnit(m.unit.name)
	bus.ResetFailedUnit(m.unit.name)
	if err != nil {
		return fmt.Errorf("stopping systemd unit %s: %w", m.unit.name, err)
	}
	return nil
}

func (m *systemdManager) Pids() ([]int, error)     { return m.fs.Pids() }
func (m *systemdManager) Paths() map[string]string { return m.fs.Paths() }
func (m *systemdManager) Freeze(frozen bool) error { return m.fs.Freeze(frozen) }
func (m *systemdManager) Stats() (*Stats, error)   { return m.fs.Stats() }

// infinity is systemd's "no limit" for the uint64 properties.
const infinity = math.MaxUint64

// unitResources translates r into unit properties, the subset runc sets:
// what systemd would otherwise reset on a reload. The cgroupfs writes that
// follow carry the rest.
func unitResources(r *specs.LinuxResources, mode Mode) ([]property, error) {
	if r == nil {
		return nil, nil
	}
	v2 := mode == Unified
	var p []property
	if mem := r.Memory; mem != nil {
		if setInt(mem.Limit) {
			name := "MemoryLimit"
			if v2 {
				name = "MemoryMax"
			}
			p = append(p, property{name, limitOrInfinity(*mem.Limit)})
		}
		if v2 && setInt(mem.Swap) {
			s, err := swapV2(*mem.Swap, mem.Limit)
			if err != nil {
				return nil, err
			}
			v := uint64(infinity)
			if s != "max" {
				v, _ = strconv.ParseUint(s, 10, 64) // swapV2 formatted it
			}
			p = append(p, property{"MemorySwapMax", v})
		}
		if v2 && setInt(mem.Reservation) {
			p = append(p, property{"MemoryLow", limitOrInfinity(*mem.Reservation)})
		}
	}
	if cpu := r.CPU; cpu != nil {
		if cpu.Shares != nil && *cpu.Shares != 0 {
			if v2 {
				p = append(p, property{"CPUWeight", sharesToWeight(*cpu.Shares)})
			} else {
				p = append(p, property{"CPUShares", *cpu.Shares})
			}
		}
		if setInt(cpu.Quota) || (cpu.Period != nil && *cpu.Period != 0) {
			period := uint64(defaultPeriod)
			if cpu.Period != nil && *cpu.Period != 0 {
				period = *cpu.Period
			}
			p = append(p, property{"CPUQuotaPeriodUSec", period})
			quota := uint64(infinity)
			if cpu.Quota != nil && *cpu.Quota > 0 {
				// systemd keeps the quota as a percentage of one CPU:
				// round up to a whole 10 ms per second, so the cgroupfs
				// value written after it is not above the unit's.
				quota = uint64(*cpu.Quota) * 1000000 / period
				if quota%10000 != 0 {
					quota = (quota/10000 + 1) * 10000
				}
			}
			if setInt(cpu.Quota) {
				p = append(p, property{"CPUQuotaPerSecUSec", quota})
			}
		}
		if v2 && cpu.Cpus != "" {
			bits, err := cpuMask(cpu.Cpus)
			if err != nil {
				return nil, fmt.Errorf("cpuset cpus %q: %w", cpu.Cpus, err)
			}
			p = append(p, property{"AllowedCPUs", bits})
		}
		if v2 && cpu.Mems != "" {
			bits, err := cpuMask(cpu.Mems)
			if err != nil {
				return nil, fmt.Errorf("cpuset mems %q: %w", cpu.Mems, err)
			}
			p = append(p, property{"AllowedMemoryNodes", bits})
		}
	}
	if r.Pids != nil {
		v := uint64(infinity)
		if r.Pids.Limit > 0 {
			v = uint64(r.Pids.Limit)
		}
		p = append(p, property{"TasksMax", v})
	}
	if b := r.BlockIO; b != nil && b.Weight != nil && *b.Weight != 0 {
		if v2 {
			p = append(p, property{"IOWeight", blkioWeightToIOWeight(*b.Weight)})
		} else {
			p = append(p, property{"BlockIOWeight", uint64(*b.Weight)})
		}
	}
	return p, nil
}

func limitOrInfinity(v int64) uint64 {
	if v < 0 {
		return infinity
	}
	return uint64(v)
}

// cpuMask turns a cpuset list ("0-2,7") into systemd's byte mask for
// AllowedCPUs: bit n of byte n/8 is CPU n.
func cpuMask(list string) ([]byte, error) {
	var mask []byte
	for part := range strings.SplitSeq(list, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi := part, part
		if a, b, ok := strings.Cut(part, "-"); ok {
			lo, hi = a, b
		}
		first, err1 := strconv.ParseUint(lo, 10, 16)
		last, err2 := strconv.ParseUint(hi, 10, 16)
		if err1 != nil || err2 != nil || last < first || last >= 8192 {
			return nil, fmt.Errorf("bad range %q", part)
		}
		for n := first; n <= last; n++ {
			for uint64(len(mask)) <= n/8 {
				mask = append(mask, 0)
			}
			mask[n/8] |= 1 << (n % 8)
		}
	}
	return mask, nil
}
