// Package runtime is nook's OCI runtime core: an OCI bundle in, a running
// container out.
//
// The flow of one container, as runc's callers drive it:
//
//	create  validate config.json, make the state dir and the cgroup, re-execute
//	        nook as the container's init (sealed copy of the binary, new
//	        namespaces), hand it a Bootstrap over an inherited socket, and wait
//	        for "ready": the rootfs is built and pivoted, the user switched.
//	start   open the state dir's exec.fifo: init, blocked writing to it, goes on
//	        and execve()s the user's process.
//	state   status is derived, never stored: created while exec.fifo exists,
//	        running while the pid (and its start time) is alive, else stopped.
//	kill    signal the init (or every process in the cgroup with --all).
//	delete  kill what is left, remove the cgroup and the state dir.
//	exec    start one more process in every namespace and the cgroup of a
//	        running container (through the nsenter constructor).
//
// The code that runs inside the new namespaces lives in initproc; cgroups
// lives in cgroups. This package imports no engine code: the engine hands it a
// bundle like any other caller.
package runtime
