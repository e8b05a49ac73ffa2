package initproc

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Bootstrap is everything the parent hands the container's init over the
// inherited sync socket, before init touches the kernel.
type Bootstrap struct {
	// ID is the container's id.
	ID string `json:"id"`
	// Bundle is the absolute path of the OCI bundle.
	Bundle string `json:"bundle"`
	// Rootfs is the absolute host path of the container's root filesystem.
	Rootfs string `json:"rootfs"`
	// Spec is the bundle's config.json, validated by the parent.
	Spec *specs.Spec `json:"spec"`
	// CgroupPaths maps each cgroup controller to the container's cgroup
	// directory on the host ("" is the key on cgroup v2). Used for cgroup
	// mounts inside the container.
	CgroupPaths map[string]string `json:"cgroupPaths,omitempty"`
	// Cgroup2 is true when the host runs the unified (v2) hierarchy only.
	Cgroup2 bool `json:"cgroup2"`
	// NewUserNS is true when init runs in a user namespace made for it: device
	// nodes are then bind-mounted from the host instead of created with mknod.
	NewUserNS bool `json:"newUserNS"`
	// NoPivot asks for MS_MOVE + chroot instead of pivot_root (ramfs roots).
	NoPivot bool `json:"noPivot,omitempty"`
	// State is the container's state as hooks see it (status "creating",
	// the init's host pid).
	State *specs.State `json:"state,omitempty"`
	// Debug turns on the step-by-step trace of kernel-level operations.
	Debug bool `json:"debug,omitempty"`
	// JSONLog asks for runc's JSON log lines instead of the readable trace.
	JSONLog bool `json:"jsonLog,omitempty"`
	// PreserveFDs is how many fds after stderr the program keeps (3..3+N-1).
	PreserveFDs int `json:"preserveFds,omitempty"`
}
