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
// The filter is loaded with SECCOMP_FILTER_FLAG_TSYNC (libseccomp-golang sets
// it always), so every thread of init gets it, not only the calling one.
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
// # Limits
//
//   - SCMP_ACT_NOTIFY (and listenerPath) is refused: ErrNotifyUnsupported.
//     SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV is accepted and has no effect,
//     since it only applies to a notification listener.
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
