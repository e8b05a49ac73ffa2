// Package caps names Linux capabilities and applies an OCI process's
// capability sets (process.capabilities in config.json) to the container's
// init just before it execs the user's program.
//
// # Where it fits
//
// The runtime's init (internal/runtime/initproc) switches to the container's
// uid and gid with PR_SET_KEEPCAPS set, then calls Apply, then execve()s the
// user's program. Apply works whether it runs before or after that switch: it
// first raises its effective set to its permitted set so that CAP_SETPCAP is
// usable for dropping from the bounding set (after setuid from root the
// kernel empties the effective set even with PR_SET_KEEPCAPS; see
// capabilities(7), "Effect of user ID changes on capabilities").
//
// # Threads
//
// Capabilities belong to a thread, not a process: capset(2), PR_CAPBSET_DROP
// and PR_CAP_AMBIENT all act on the calling thread only, and a Go program
// runs on several threads. That is what init needs: it locks its goroutine to
// its OS thread (runtime.LockOSThread), calls Apply, and execve()s from the
// same thread. execve replaces the whole thread group with a single thread
// that keeps the caller's credentials, so the other Go threads' (unchanged)
// capabilities never reach the container. Calling Apply from an unlocked
// goroutine changes whichever thread it happened to be running on.
//
// # Names above the kernel's last capability
//
// The package knows CAP_CHOWN (0) through CAP_CHECKPOINT_RESTORE (40). A spec
// may name a capability the package knows but the running kernel does not
// (its number is above /proc/sys/kernel/cap_last_cap). Like runc, Apply warns
// and skips those; Unavailable reports them to callers that want to warn
// earlier. Names the package does not know at all are an error (ErrUnknown).
package caps
