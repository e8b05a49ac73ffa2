// Package initproc is the code that runs as the container's first process.
//
// The runtime re-executes its own (sealed) binary as "nook-runtime init" in
// new namespaces. Init reads a Bootstrap from the sync socket and builds the
// container, one step per file, in this order:
//
//	init_linux.go     the sequence below, and error reporting to the parent
//	rootfs_linux.go   propagation, the rootfs bind, mounts in spec order
//	devices_linux.go  /dev: default devices, linux.devices, the std links
//	pivot_linux.go    pivot_root into the rootfs; the old root is detached
//	console_linux.go  process.terminal: a pty inside, master to the console socket
//	paths_linux.go    masked and read-only paths, read-only root
//	process_linux.go  hostname, sysctl, rlimits, oom score, time offsets
//	sched_linux.go    personality, scheduler, I/O priority (sched.go checks
//	                  and translates them; the runtime's Validate uses it)
//	seccomp_linux.go  load the filter; a notify listener goes to the parent
//	user_linux.go     groups, gid, uid, umask; then capabilities
//	exec_linux.go     find the program, close stray fds, execve
//
// Then it tells the parent "ready", blocks on the state dir's exec.fifo until
// `start` opens it, and execve()s the user's program. Everything runs on the
// main OS thread, locked before the Go runtime starts other goroutines on it:
// namespaces, credentials and capabilities belong to a thread.
//
// `nook-runtime exec` starts the same binary, already in the container's
// namespaces (nsenter's constructor) and cgroup; it gets an ExecBootstrap
// instead and runs execinit_linux.go: terminal, rlimits, personality,
// scheduler and I/O priority, seccomp, user, cwd, capabilities, execve.
package initproc
