// Package nsenter joins existing namespaces before the Go runtime starts. The
// container's init (nook-runtime init) imports it for its side effect:
//
//	import _ "github.com/nook-containers/nook/internal/runtime/nsenter"
//
// # Why C
//
// setns(2) refuses to move a multi-threaded process into a user namespace or a
// time namespace, and a Go program has several threads before main. Other
// namespaces can be joined from Go on a locked OS thread; these two cannot. So,
// like runc's libcontainer/nsenter, a C constructor does the joins while the
// process still has one thread, and the Go runtime starts afterwards in the
// joined namespaces.
//
// # Contract
//
// The constructor does nothing unless _NOOK_NSENTER_JOIN is set (the cost for
// every other run of the binary is one getenv). The parent sets:
//
//	_NOOK_NSENTER_JOIN     type:path pairs, comma-separated, in the order to join;
//	                       type is user, net, ipc, uts, mnt, pid, cgroup or time;
//	                       put user first (paths must not contain commas)
//	_NOOK_NSENTER_UNSHARE  decimal clone flags of namespaces to create after the
//	                       joins: CLONE_NEWNS, NEWUTS, NEWIPC, NEWNET, NEWPID,
//	                       NEWCGROUP (absent or 0: none)
//	_NOOK_NSENTER_SYNCFD   decimal fd of a stream socket to the parent
//
// The constructor unsets all three, opens every path (O_RDONLY|O_CLOEXEC), then
// setns()es in order. Right after a user namespace it becomes that namespace's
// root: setresgid(0,0,0), setgroups(0, NULL) (EPERM, when setgroups is denied,
// is ignored), setresuid(0,0,0). Then it unshare()s the flags at once.
//
// If a pid namespace was joined or CLONE_NEWPID created, it forks: the parent
// writes one line to the sync fd,
//
//	{"type":"pid","pid":<child's pid in the parent's pid namespace>}
//
// and exits 0; the child waits until that line is written, then returns from
// the constructor and the Go runtime starts in it (as pid 1 of a new pid
// namespace, or a member of the joined one). The pid line is therefore the
// first thing on the sync fd. The child keeps the sync fd open. Without a pid
// namespace there is no fork and nothing is written on success.
//
// On any error it writes one line to the sync fd (when valid) and to stderr,
//
//	{"type":"error","error":"joining user namespace /proc/1/ns/user: operation not permitted","exitCode":125}
//
// and exits 125.
//
// # Building
//
// The constructor needs cgo. Built with CGO_ENABLED=0 the package is empty and
// Supported is false: a caller that needs a join should refuse rather than run
// a container outside the namespaces it asked for. A static binary:
//
//	CGO_ENABLED=1 go build -tags osusergo,netgo -ldflags '-extldflags -static' ./cmd/nook-runtime
package nsenter
