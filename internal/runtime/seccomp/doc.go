// Package seccomp turns an OCI spec's linux.seccomp object into a seccomp BPF
// filter (with libseccomp, through cgo) and loads it into the container's
// init just before it execs the user's program. DefaultProfile gives a
// profile equivalent to Docker's default one for specs the engine builds.
//
// # Where it fits
//
// Loading is the last step of initproc before execve, on init's locked OS
// thread, and its place relative to the credential steps matters (runc,
// libcontainer/standard_init_linux.go):
//
//   - process.noNewPrivileges true: set PR_SET_NO_NEW_PRIVS, switch uid/gid,
//     apply capabilities, then Load as late as possible, right before execve,
//     so the filter does not have to allow what init itself still does.
//     Loading under no_new_privs needs no privilege.
//   - otherwise: Load before the capabilities are dropped (before
//     setuid/caps.Apply), since loading a filter without no_new_privs needs
//     CAP_SYS_ADMIN (seccomp(2), EACCES). The filter then also covers the
//     rest of init's work (setuid, capset, prctl, execve), which the profile
//     must allow; Docker's default profile does.
//
// The runtime compiles the profile with libseccomp before the container
// exists (a bad profile is a create error) and exports it as a Program: the
// BPF and the flags libseccomp would load it with. Build keeps Programs in a
// cache under the state root, keyed by the profile, libseccomp's version,
// the architecture and the kernel release: generating the BPF of Docker's
// profile costs ~40 ms, and the engine starts every container with the same
// profile. Init loads the Program with one seccomp(2) call, no libseccomp.
//
// The filter is loaded with SECCOMP_FILTER_FLAG_TSYNC (as libseccomp-golang
// does), so every thread of init gets it, not only the calling one.
// libseccomp would set no_new_privs on its own on load; we turn that off,
// leaving no_new_privs to process.noNewPrivileges as the spec says.
//
// # Translation
//
// Actions, operators and architectures are the spec's libseccomp names.
// SCMP_ACT_KILL means kill the thread. errnoRet defaults to EPERM and is an
// error on actions other than ERRNO and TRACE. Several args on one syscall
// entry are ANDed into one rule, except when two args name the same index:
// then, like runc, each arg becomes a rule of its own (ORed). Syscall names
// libseccomp does not know are skipped with a debug log, like runc; unknown
// actions, operators, architectures and flags are errors. libseccomp maps
// each name to each architecture's number, so with SCMP_ARCH_X86 and
// SCMP_ARCH_X32 in the spec the i386 (int 0x80) and x32 entry points are
// filtered too; without them libseccomp kills any call from those ABIs.
//
// # Notification: SCMP_ACT_NOTIFY
//
// A profile with SCMP_ACT_NOTIFY rules is loaded with
// SECCOMP_FILTER_FLAG_NEW_LISTENER (and TSYNC_ESRCH, which libseccomp adds
// so that TSYNC still works: Linux >= 5.7, libseccomp >= 2.5); Load returns
// the listener fd. It must reach the agent at linux.seccomp.listenerPath
// before anything waits on it:
//
//  1. init (initproc, seccomp_linux.go) writes the fd's number on the sync
//     socket — one write(2), the only syscall between the load and step 2 —
//     and waits;
//  2. the runtime copies the fd out of init with pidfd_getfd(2), connects
//     to listenerPath and sends the containerProcessState (SendListener:
//     JSON, fds ["seccompFd"], the fd in SCM_RIGHTS), closes the
//     connection and its copy, and tells init to go on;
//  3. init closes its fd and goes on; its own syscalls that match a notify
//     rule are now the agent's to answer.
//
// runc does the same (it moved from SCM_RIGHTS to pidfd_getfd so that
// sendmsg can be notified: runc issue #4328). Hence what checkNotify
// refuses: SCMP_ACT_NOTIFY as the default action, on write, or without
// listenerPath; listenerMetadata without listenerPath. When the filter is
// loaded depends on no_new_privs as above, except that with no_new_privs a
// profile with a listener is loaded at the end of init's work, before
// "ready" (runc too), since the sync socket is closed after that. An
// exec'd process hands its own listener over the same way, on a new
// connection. SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV takes effect only with
// a listener and needs libseccomp >= 2.6; without one it is ignored.
//
// # Limits
//
//   - Between the load and the agent holding the listener, only write(2)
//     is guaranteed not to be notified. Go's other threads and libseccomp's
//     cleanup may make syscalls too (futex, madvise, munmap); notified,
//     they wait a moment for the agent, which is harmless.
//   - TSYNC cannot be turned off (see above).
//   - runc patches the filter so that syscalls newer than the profile get
//     ENOSYS instead of the default action (libcontainer/seccomp/patchbpf);
//     we do not: a syscall unknown to the profile gets the default action.
//   - DefaultProfile assumes a kernel >= 4.8 (Docker's "minKernel" for
//     ptrace) and resolves Docker's capability conditions against Docker's
//     default capability set; DefaultProfileFor takes another set.
//   - Without cgo (or off Linux) only Load exists, and it fails with
//     ErrUnsupported.
package seccomp
