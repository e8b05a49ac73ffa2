package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nook-containers/nook/internal/runtime/caps"
	"github.com/nook-containers/nook/internal/runtime/seccomp"
)

// DefaultPidsLimit is the pids limit a container gets without --pids-limit,
// as Podman's: a fork bomb stops there.
const DefaultPidsLimit = 2048

const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// initPath is where --init's reaper (the nook binary, read-only) is mounted.
const initPath = "/dev/init"

// buildSpec turns the container's record into an OCI config.json for its
// mounted rootfs. It runs at every start: the user (-u NAME) is resolved
// against the image's /etc/passwd, which needs the rootfs.
func (e *Engine) buildSpec(c *Container, rootfs string) (*specs.Spec, error) {
	args := append(append([]string{}, c.Config.Entrypoint...), c.Config.Cmd...)
	if len(args) == 0 {
		return nil, errors.New("no command specified: the image has none and none was given")
	}
	user, err := resolveUser(rootfs, c.Config.User)
	if err != nil {
		return nil, err
	}
	env := mergeEnv([]string{defaultPath, "HOSTNAME=" + c.Config.Hostname}, c.Config.Env)
	if c.Config.Tty && !hasEnv(env, "TERM") {
		env = append(env, "TERM=xterm")
	}
	if !hasEnv(env, "HOME") {
		env = append(env, "HOME="+user.home)
	}
	if c.Host.Init {
		args = append([]string{initPath, "--"}, args...)
	}
	h := &c.Host
	capList := capabilities(h)
	s := &specs.Spec{
		Version:  specs.Version,
		Root:     &specs.Root{Path: rootfs, Readonly: h.ReadonlyRootfs},
		Hostname: c.Config.Hostname,
		Process: &specs.Process{
			Terminal: c.Config.Tty,
			User:     user.User,
			Args:     args,
			Env:      env,
			Cwd:      cwdOr(c.Config.WorkingDir),
			Capabilities: &specs.LinuxCapabilities{
				Bounding: capList, Effective: capList, Permitted: capList,
			},
		},
		Mounts: defaultMounts(h),
		Linux: &specs.Linux{
			CgroupsPath: "/nook/" + c.ID,
			Resources:   resources(h),
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.IPCNamespace}, {Type: specs.UTSNamespace},
				{Type: specs.MountNamespace}, {Type: specs.CgroupNamespace},
			},
		},
	}
	if h.NetworkMode != "host" {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.NetworkNamespace})
	}
	for _, u := range h.Ulimits {
		s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: rlimitNames[u.Name], Soft: uint64(u.Soft), Hard: uint64(u.Hard)})
	}
	if !h.Privileged {
		s.Linux.MaskedPaths = []string{
			"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
			"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
			"/sys/devices/virtual/powercap",
		}
		s.Linux.ReadonlyPaths = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
	}
	if err := applySecurityOpts(s, h, capList); err != nil {
		return nil, err
	}
	mounts, err := e.userMounts(c)
	if err != nil {
		return nil, err
	}
	s.Mounts = append(s.Mounts, mounts...)
	if c.Host.Init {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: initPath, Type: "bind", Source: e.exe, Options: []string{"rbind", "ro", "nosuid", "nodev"}})
	}
	return s, nil
}

// defaultMounts are Docker's: proc, a tmpfs /dev with devpts, shm and
// mqueue, sysfs and the cgroup tree read-only (read-write when privileged).
func defaultMounts(h *HostConfig) []specs.Mount {
	ro := "ro"
	if h.Privileged {
		ro = "rw"
	}
	m := []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", ro}},
	}
	if h.NetworkMode != "host" {
		// sysfs needs the mounter's own network namespace.
		m = slices.Insert(m, 5, specs.Mount{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", ro}})
	} else {
		m = slices.Insert(m, 5, specs.Mount{Destination: "/sys", Type: "bind", Source: "/sys", Options: []string{"rbind", "nosuid", "noexec", "nodev", ro}})
	}
	return m
}

// capabilities is Docker's default set with --cap-add and --cap-drop
// applied ("ALL" in either), or every capability when privileged.
func capabilities(h *HostConfig) []string {
	if h.Privileged {
		return boundingSet()
	}
	set := caps.DefaultNames()
	norm := func(c string) string {
		c = strings.ToUpper(c)
		if c != "ALL" && !strings.HasPrefix(c, "CAP_") {
			c = "CAP_" + c
		}
		return c
	}
	for _, d := range h.CapDrop {
		if d = norm(d); d == "ALL" {
			set = nil
		} else {
			set = slices.DeleteFunc(set, func(c string) bool { return c == d })
		}
	}
	for _, a := range h.CapAdd {
		if a = norm(a); a == "ALL" {
			set = boundingSet()
		} else if !slices.Contains(set, a) {
			set = append(set, a)
		}
	}
	return set
}

// validateCaps checks --cap-add and --cap-drop names at create time.
func validateCaps(h *HostConfig) error {
	known := caps.All()
	for _, list := range [][]string{h.CapAdd, h.CapDrop} {
		for _, c := range list {
			u := strings.ToUpper(c)
			if u == "ALL" {
				continue
			}
			if !strings.HasPrefix(u, "CAP_") {
				u = "CAP_" + u
			}
			if !slices.Contains(known, u) {
				return fmt.Errorf("invalid capability %q", c)
			}
		}
	}
	return nil
}

// applySecurityOpts applies --security-opt (and the defaults it changes):
// Docker's seccomp profile unless seccomp=unconfined or a profile file;
// no-new-privileges; apparmor= and label= as the spec's fields.
func applySecurityOpts(s *specs.Spec, h *HostConfig, capList []string) error {
	profile := "default"
	if h.Privileged {
		profile = "unconfined"
	}
	for _, o := range h.SecurityOpt {
		k, v, _ := strings.Cut(o, "=")
		if k == "no-new-privileges" && v == "" {
			v = "true"
		}
		switch k {
		case "seccomp":
			profile = v
		case "no-new-privileges":
			s.Process.NoNewPrivileges = v == "true"
		case "apparmor":
			s.Process.ApparmorProfile = v
		case "label":
			lk, lv, _ := strings.Cut(v, ":")
			if lk == "disable" {
				continue
			}
			if lk == "type" {
				s.Process.SelinuxLabel = "system_u:system_r:" + lv + ":s0"
			}
		default:
			return fmt.Errorf("invalid --security-opt %q: nook knows seccomp=, no-new-privileges, apparmor= and label=", o)
		}
	}
	switch profile {
	case "unconfined":
	case "default", "":
		s.Linux.Seccomp = seccomp.DefaultProfileFor(capList)
	default:
		data, err := os.ReadFile(profile)
		if err != nil {
			return fmt.Errorf("reading the seccomp profile: %w", err)
		}
		var p specs.LinuxSeccomp
		if err := json.Unmarshal(data, &p); err != nil {
			return fmt.Errorf("reading the seccomp profile %s: %w", profile, err)
		}
		s.Linux.Seccomp = &p
	}
	return nil
}

// resources turns the limit flags into linux.resources; every container
// gets the default pids limit unless --pids-limit says otherwise.
func resources(h *HostConfig) *specs.LinuxResources {
	r := &specs.LinuxResources{}
	if !h.Privileged {
		r.Devices = []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}
	} else {
		r.Devices = []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}
	}
	if h.Memory > 0 || h.MemorySwap != 0 {
		r.Memory = &specs.LinuxMemory{}
		if h.Memory > 0 {
			r.Memory.Limit = &h.Memory
		}
		if h.MemorySwap != 0 {
			r.Memory.Swap = &h.MemorySwap
		}
	}
	if h.NanoCpus > 0 || h.CPUShares > 0 || h.CpusetCpus != "" {
		r.CPU = &specs.LinuxCPU{Cpus: h.CpusetCpus}
		if h.NanoCpus > 0 {
			period := uint64(100000)
			quota := h.NanoCpus * int64(period) / 1e9
			r.CPU.Period, r.CPU.Quota = &period, &quota
		}
		if h.CPUShares > 0 {
			shares := uint64(h.CPUShares)
			r.CPU.Shares = &shares
		}
	}
	switch {
	case h.PidsLimit > 0:
		r.Pids = &specs.LinuxPids{Limit: h.PidsLimit}
	case h.PidsLimit == 0:
		r.Pids = &specs.LinuxPids{Limit: DefaultPidsLimit}
	}
	return r
}

// mergeEnv appends over: a later KEY=VALUE replaces an earlier KEY.
func mergeEnv(base, over []string) []string {
	out := slices.Clone(base)
	for _, kv := range over {
		k, _, _ := strings.Cut(kv, "=")
		i := slices.IndexFunc(out, func(e string) bool { return strings.HasPrefix(e, k+"=") })
		if i >= 0 {
			out[i] = kv
		} else {
			out = append(out, kv)
		}
	}
	return out
}

func hasEnv(env []string, k string) bool {
	return slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, k+"=") })
}

func cwdOr(dir string) string {
	if dir == "" {
		return "/"
	}
	return filepath.Clean("/" + dir)
}

// boundingSet is every capability nook itself may grant: "ALL" and
// --privileged mean these, as in Podman. A host (or an outer container)
// whose bounding set lacks some (CAP_SYS_RESOURCE in a sandbox) cannot give
// them, and asking would fail the start.
func boundingSet() []string {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return caps.All()
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				break
			}
			return caps.Names(mask)
		}
	}
	return caps.All()
}
