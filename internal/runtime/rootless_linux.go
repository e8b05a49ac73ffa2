package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nook-containers/nook/internal/runtime/cgroups"
)

// A rootless container is one that nook-runtime, run by an unprivileged
// user, makes in a user namespace of its own (`nook-runtime spec
// --rootless` writes such a config.json). Three things differ from a
// container made by root:
//
//   - the user namespace can map only the caller's own uid and gid, one id
//     each, and its setgroups must be "deny" (user_namespaces(7): an
//     unprivileged process may write a one-line map of its own id, and
//     gid_map only after setgroups is denied). nook does not run
//     newuidmap(1) to map /etc/subuid ranges;
//   - the cgroup: an unprivileged user usually may not make one. As runc
//     does, a container without linux.resources then runs without a cgroup
//     of its own; one with resources fails;
//   - the state dir lives where the user can write (--root, by default
//     $XDG_RUNTIME_DIR/nook-runtime).

// isRootless reports whether this runtime runs without root's privileges.
func isRootless() bool { return os.Geteuid() != 0 }

// checkRootless refuses, before anything exists, what an unprivileged
// runtime cannot do: no new user namespace, or mappings other than the
// caller's own ids.
func checkRootless(l *specs.Linux) error {
	if !isRootless() {
		return nil
	}
	uid, gid := os.Geteuid(), os.Getegid()
	if !ownsNamespace(l, specs.UserNamespace) {
		if joinsNamespace(l, specs.UserNamespace) {
			return nil
		}
		return fmt.Errorf("running as uid %d (rootless) needs a new user namespace in linux.namespaces (see nook-runtime spec --rootless)", uid)
	}
	if err := ownIDOnly(l.UIDMappings, uid); err != nil {
		return fmt.Errorf("config.json: linux.uidMappings: %w", err)
	}
	if err := ownIDOnly(l.GIDMappings, gid); err != nil {
		return fmt.Errorf("config.json: linux.gidMappings: %w", err)
	}
	return nil
}

func ownIDOnly(m []specs.LinuxIDMapping, id int) error {
	if len(m) == 1 && m[0].HostID == uint32(id) && m[0].Size == 1 {
		return nil
	}
	return fmt.Errorf("running without root, nook can map only your own id (hostID %d, size 1): "+
		"mapping more needs newuidmap/newgidmap, which nook does not use", id)
}

// rootlessCgroup decides what a failed cgroup Create means: for a rootless
// runtime and a spec that asks for no resources, that the container runs
// without a cgroup (runc ignores the same errors). Device rules alone do
// not count as resources: in a user namespace the container can only use
// the device nodes nook bind-mounts from the host, with the host's
// permissions.
func rootlessCgroup(err error, l *specs.Linux) bool {
	if !isRootless() || !(errors.Is(err, fs.ErrPermission) || errors.Is(err, unix.EROFS)) {
		return false
	}
	if l.Resources == nil {
		return true
	}
	r := *l.Resources
	r.Devices = nil
	return reflect.DeepEqual(r, specs.LinuxResources{})
}

// rootlessCgroupError says why a rootless container with resources needs a
// cgroup it cannot have.
func rootlessCgroupError(err error) error {
	if !isRootless() || !errors.Is(err, fs.ErrPermission) {
		return err
	}
	return fmt.Errorf("%w (running rootless: linux.resources need a cgroup this user may write; without them the container runs without a cgroup)", err)
}

// noCgroup is the cgroup of a rootless container that has none.
type noCgroup struct{}

var errNoCgroup = errors.New("the container has no cgroup (rootless, without linux.resources)")

func (noCgroup) Create(*specs.LinuxResources) error { return nil }
func (noCgroup) Apply(int) error                    { return nil }
func (noCgroup) Set(*specs.LinuxResources) error    { return errNoCgroup }
func (noCgroup) Pids() ([]int, error)               { return nil, errNoCgroup }
func (noCgroup) Destroy() error                     { return nil }
func (noCgroup) Paths() map[string]string           { return map[string]string{} }
func (noCgroup) Freeze(bool) error                  { return errNoCgroup }
func (noCgroup) Stats() (*cgroups.Stats, error)     { return nil, errNoCgroup }

var _ cgroups.Manager = noCgroup{}
