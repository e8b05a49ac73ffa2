package cgroups

import (
	"errors"
	"fmt"
	"os"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Manager controls one container's cgroup. The runtime calls Create before
// it starts the container's init, Apply with init's pid, and Destroy when
// the container is deleted:
//
//	m, err := cgroups.New(spec.Linux.CgroupsPath, id, log)
//	err = m.Create(spec.Linux.Resources)
//	err = m.Apply(initPid)
//	...
//	err = m.Destroy()
type Manager interface {
	// Create makes the cgroup directories and missing parents, readies
	// the parents (v2: enables controllers in every ancestor's
	// cgroup.subtree_control; v1: gives new cpusets their parent's CPUs
	// and memory nodes) and writes r, which may be nil.
	Create(r *specs.LinuxResources) error
	// Apply moves the process pid into the cgroup (every hierarchy on v1).
	Apply(pid int) error
	// Set writes the resources in r again; fields left unset stay as they are.
	Set(r *specs.LinuxResources) error
	// Pids lists the processes directly in the cgroup.
	Pids() ([]int, error)
	// Destroy removes the cgroup directories, and the default "nook"
	// parent if it is left empty. Missing directories are not an error.
	// The processes must have exited (or be exiting) first.
	Destroy() error
	// Paths maps each controller ("memory", "cpu", ...) to its host
	// directory; on v2 the single key is "". On a hybrid host the key ""
	// is the container's directory in the controller-less v2 hierarchy.
	Paths() map[string]string
	// Freeze stops (true) or resumes (false) every process in the cgroup
	// and waits until the kernel reports it done.
	Freeze(frozen bool) error
	// Stats reads the cgroup's current resource use.
	Stats() (*Stats, error)
}

// controllerOf names the controller a cgroup file belongs to: the part of
// its name before the first dot: "memory.max" belongs to "memory".
func controllerOf(file string) string {
	c, _, _ := strings.Cut(file, ".")
	return c
}

// removeDefaultParent removes the empty "nook" parent a default path
// created. Another container may still be using it, or be creating its
// cgroup in it right now (Create retries that race), so "not empty" and
// "busy" are expected answers.
func removeDefaultParent(dir string) error {
	switch err := unix.Rmdir(dir); err {
	case nil, unix.ENOENT, unix.EBUSY, unix.ENOTEMPTY:
		return nil
	case unix.EACCES, unix.EPERM:
		// Shared with other users' containers: an unprivileged caller
		// (rootless) may not remove it, and need not.
		return nil
	default:
		return fmt.Errorf("removing cgroup %s: %w", dir, err)
	}
}

// retryCreate runs mkdirs again when a directory vanished under it: a
// concurrent Destroy may remove the shared "nook" parent between our
// mkdir of it and of the container's directory.
func retryCreate(mkdirs func() error) error {
	var err error
	for range 3 {
		if err = mkdirs(); !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return err
}
