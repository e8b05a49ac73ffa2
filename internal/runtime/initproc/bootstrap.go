package initproc

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nook-containers/nook/internal/runtime/seccomp"
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
	// Seccomp is linux.seccomp built by the parent into the kernel's form
	// (nil without one): init loads it with one seccomp(2) call.
	Seccomp *seccomp.Program `json:"seccompProgram,omitempty"`
	// CgroupPaths maps each cgroup controller to the container's cgroup
	// directory on the host ("" is the key on cgroup v2). Used for cgroup
	// mounts inside the container.
	CgroupPaths map[string]string `json:"cgroupPaths,omitempty"`
	// Cgroup2 is true when the host runs the unified (v2) hierarchy only.
	Cgroup2 bool `json:"cgroup2"`
	// JoinCgroup is true when init was not cloned into its cgroup: it asks
	// the parent to move it there (MsgJoinCgroup) once its Go runtime is up.
	JoinCgroup bool `json:"joinCgroup,omitempty"`
	// NewUserNS is true when init runs in a user namespace made for it: device
	// nodes are then bind-mounted from the host instead of created with mknod.
	NewUserNS bool `json:"newUserNS"`
	// IDMapFDs maps the index of each idmapped mount in Spec.Mounts to the
	// fd of its detached mount, made by the parent (open_tree(2) clone,
	// MOUNT_ATTR_IDMAP): init moves it into place.
	IDMapFDs map[int]int `json:"idmapFds,omitempty"`
	// NoPivot asks for MS_MOVE + chroot instead of pivot_root (ramfs roots).
	NoPivot bool `json:"noPivot,omitempty"`
	// NoNewKeyring keeps the session keyring init inherited.
	NoNewKeyring bool `json:"noNewKeyring,omitempty"`
	// State is the container's state as hooks see it (status "creating",
	// the init's host pid).
	State *specs.State `json:"state,omitempty"`
	// Debug turns on the step-by-step trace of kernel-level operations.
	Debug bool `json:"debug,omitempty"`
	// JSONLog asks for runc's JSON log lines instead of the readable trace.
	JSONLog bool `json:"jsonLog,omitempty"`
	// PreserveFDs is how many fds after stderr the program keeps (3..3+N-1).
	PreserveFDs int `json:"preserveFds,omitempty"`

	// consoleFD is FDs.Console, set by Main: the console socket when
	// process.terminal is true.
	consoleFD int
}

// ExecBootstrap is what the parent hands a process started by `nook-runtime
// exec`. nsenter's constructor has already put it in every namespace of the
// container, and the parent has moved it into the container's cgroup.
type ExecBootstrap struct {
	// ID is the container's id.
	ID string `json:"id"`
	// Process is the process to run, complete: the parent has filled in
	// the container's defaults (capabilities, rlimits, no_new_privs).
	Process *specs.Process `json:"process"`
	// Seccomp is the container's linux.seccomp filter, built by the
	// parent: the process gets the same filter as the container's init.
	Seccomp *seccomp.Program `json:"seccomp,omitempty"`
	// Personality is the container's linux.personality, which runc applies
	// to exec'd processes too.
	Personality *specs.LinuxPersonality `json:"personality,omitempty"`
	// PreserveFDs is how many fds after stderr the program keeps (3..3+N-1).
	PreserveFDs int `json:"preserveFds,omitempty"`
	// Debug and JSONLog are as in Bootstrap.
	Debug   bool `json:"debug,omitempty"`
	JSONLog bool `json:"jsonLog,omitempty"`
}
