// Package cgroups puts a container's processes into a control group and
// writes its resource limits, on both cgroup v2 (the unified hierarchy most
// machines run today) and cgroup v1 (legacy, or hybrid with an empty v2
// mount beside the v1 controllers).
//
// How it fits the flow: the runtime turns spec.Linux.CgroupsPath and the
// container id into a Manager with New, calls Create with
// spec.Linux.Resources before it starts the container's init, and Apply(pid)
// with init's pid before init execs the user's process, so that every byte
// and every fork the container makes is charged to its cgroup. `update`
// calls Set, `pause`/`resume` call Freeze, `events --stats` calls Stats, and
// `delete` calls Destroy once the processes are gone.
//
// The package translates the OCI resources into cgroup file writes with
// small pure functions (memoryV1, cpuV2, ...), one file per controller, so
// that the translation is unit-tested without root against a temporary
// directory (NewAt); the v1 and v2 managers only decide where those writes
// go. Every write, mkdir and rmdir is logged at debug level.
//
// Kernel references: Documentation/admin-guide/cgroup-v2.rst and
// Documentation/admin-guide/cgroup-v1/*.rst. runc's libcontainer/cgroups/fs
// and fs2 packages solve the same problem and were the model for the
// translation rules.
package cgroups
