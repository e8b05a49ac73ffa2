package cgroups

import (
	"sync"

	"golang.org/x/sys/unix"
)

// Mode is how the host mounted its cgroup hierarchies.
type Mode int

const (
	// Legacy is cgroup v1 only: one hierarchy per controller.
	Legacy Mode = iota
	// Hybrid is cgroup v1 for the controllers plus a cgroup2 mount at
	// /sys/fs/cgroup/unified, usually with no controllers. Resource control
	// works as in Legacy; the v2 hierarchy only groups processes.
	Hybrid
	// Unified is pure cgroup v2: /sys/fs/cgroup is a cgroup2 mount.
	Unified
)

func (m Mode) String() string {
	switch m {
	case Legacy:
		return "v1 (legacy)"
	case Hybrid:
		return "v1 (hybrid)"
	case Unified:
		return "v2"
	}
	return "unknown"
}

// DefaultRoot is where distributions mount the cgroup hierarchies.
const DefaultRoot = "/sys/fs/cgroup"

var detect = sync.OnceValue(func() Mode { return detectMode(DefaultRoot) })

// DetectMode reports the host's cgroup mode. The answer is computed once:
// the mode cannot change without rebooting.
func DetectMode() Mode { return detect() }

// detectMode looks at the filesystem types, as systemd and runc do: a
// cgroup2 mount at root means unified, a cgroup2 mount at root/unified
// means hybrid, anything else (tmpfs with v1 mounts in it) legacy.
func detectMode(root string) Mode {
	if isCgroup2(root) {
		return Unified
	}
	if isCgroup2(root + "/unified") {
		return Hybrid
	}
	return Legacy
}

func isCgroup2(dir string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return false
	}
	return st.Type == unix.CGROUP2_SUPER_MAGIC
}
