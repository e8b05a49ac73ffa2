package report

import (
	"slices"
	"strconv"
	"strings"
)

// Report is everything the probe saw. Collection is best effort: a part it
// could not read is left empty and the reason is added to Errors.
type Report struct {
	PID        int    `json:"pid"`
	PPID       int    `json:"ppid"`
	Hostname   string `json:"hostname"`
	Domainname string `json:"domainname"`
	UID        int    `json:"uid"`
	GID        int    `json:"gid"`
	EUID       int    `json:"euid"`
	EGID       int    `json:"egid"`
	// Groups are the supplementary groups (getgroups(2)).
	Groups []int `json:"groups"`
	// Umask is octal with a leading zero, e.g. "0022".
	Umask string `json:"umask"`
	// Cwd is getcwd(2), not $PWD.
	Cwd string   `json:"cwd"`
	Env []string `json:"env"`

	Caps Caps `json:"caps"`
	// NoNewPrivs and Seccomp are the NoNewPrivs and Seccomp lines of
	// /proc/self/status. Seccomp is 0 (off), 1 (strict) or 2 (filter).
	NoNewPrivs bool `json:"noNewPrivs"`
	Seccomp    int  `json:"seccomp"`

	// Namespaces maps a /proc/self/ns entry (cgroup, ipc, mnt, net, pid,
	// pid_for_children, time, time_for_children, user, uts) to its inode.
	// Entries the kernel does not have are absent.
	Namespaces map[string]uint64 `json:"namespaces"`
	// Mounts are /proc/self/mountinfo, in order (parents before children).
	Mounts []Mount `json:"mounts"`
	Cgroup Cgroup  `json:"cgroup"`
	// VisiblePIDs are the numeric entries of /proc, ascending.
	VisiblePIDs []int `json:"visiblePids"`
	// FDs maps each open file descriptor to its /proc/self/fd link target,
	// as it was when the probe started (before the Go runtime or the probe
	// opened anything of their own).
	FDs map[int]string `json:"fds"`
	// Rlimits maps "RLIMIT_NOFILE" and the others to [soft, hard]; see
	// Rlimit for how the NOFILE soft limit is recovered.
	Rlimits     map[string]Rlimit `json:"rlimits"`
	OOMScoreAdj int               `json:"oomScoreAdj"`

	Errors []string `json:"errors,omitempty"`
}

// Caps are the capability sets of the probe's main thread.
type Caps struct {
	Bounding    CapSet `json:"bounding"`
	Effective   CapSet `json:"effective"`
	Permitted   CapSet `json:"permitted"`
	Inheritable CapSet `json:"inheritable"`
	Ambient     CapSet `json:"ambient"`
}

// CapSet is one capability set: the hex mask exactly as /proc/self/status
// shows it ("00000000a80425fb") and the names of its bits ("CAP_CHOWN", ...;
// a bit with no known name is "CAP_<n>").
type CapSet struct {
	Hex   string   `json:"hex"`
	Names []string `json:"names"`
}

// Has reports whether the set holds the capability called name.
func (s CapSet) Has(name string) bool { return slices.Contains(s.Names, name) }

// Mask returns the set as a bit mask (0 if Hex is not valid hex).
func (s CapSet) Mask() uint64 {
	m, _ := strconv.ParseUint(s.Hex, 16, 64)
	return m
}

// Mount is one line of /proc/self/mountinfo (proc_pid_mountinfo(5)), with
// the kernel's octal escapes (\040 for a space) decoded.
type Mount struct {
	ID         int    `json:"id"`
	ParentID   int    `json:"parentId"`
	MajorMinor string `json:"majorMinor"`
	// Root is the path within the filesystem that is mounted (not "/" for a
	// bind mount of a subdirectory).
	Root       string `json:"root"`
	MountPoint string `json:"mountPoint"`
	// Options are the per-mount options ("rw", "nosuid", "relatime"...).
	Options []string `json:"options"`
	// Propagation are the optional fields: "shared:N", "master:N",
	// "propagate_from:N", "unbindable"; empty for a private mount.
	Propagation  []string `json:"propagation"`
	FSType       string   `json:"fsType"`
	Source       string   `json:"source"`
	SuperOptions []string `json:"superOptions"`
}

// HasOption reports whether opt is one of the per-mount options (not the
// superblock options).
func (m Mount) HasOption(opt string) bool { return slices.Contains(m.Options, opt) }

// Cgroup is what the probe sees of its cgroup.
type Cgroup struct {
	// Lines are /proc/self/cgroup as is ("0::/" on v2).
	Lines []string `json:"lines"`
	// Limits maps a limit file under /sys/fs/cgroup to its trimmed content,
	// for those that exist: memory.max, pids.max, cpu.max on v2;
	// memory/memory.limit_in_bytes, pids/pids.max, cpu/cpu.cfs_quota_us,
	// cpu/cpu.cfs_period_us on v1. Keys are full paths
	// ("/sys/fs/cgroup/pids.max").
	Limits map[string]string `json:"limits"`
}

// Unlimited is RLIM_INFINITY as it appears in an Rlimit.
const Unlimited = ^uint64(0)

// Rlimit is [soft, hard] as getrlimit(2) reports them; Unlimited means no
// limit (it is 18446744073709551615 in the JSON).
//
// The Go runtime raises its own RLIMIT_NOFILE soft limit to near the hard
// limit at start. The probe reports the limit it was started with, read from
// a child stopped right after execve, before its Go runtime ran; if that fails
// the raised value is reported and Errors says so.
type Rlimit [2]uint64

// Soft returns the soft limit.
func (r Rlimit) Soft() uint64 { return r[0] }

// Hard returns the hard limit.
func (r Rlimit) Hard() uint64 { return r[1] }

// Mount returns the mount at mountPoint that is visible there: the last one
// mounted on it.
func (r *Report) Mount(mountPoint string) (Mount, bool) {
	for i := len(r.Mounts) - 1; i >= 0; i-- {
		if r.Mounts[i].MountPoint == mountPoint {
			return r.Mounts[i], true
		}
	}
	return Mount{}, false
}

// Getenv returns the value of the environment variable key and whether it
// was set.
func (r *Report) Getenv(key string) (string, bool) {
	for _, kv := range r.Env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}
