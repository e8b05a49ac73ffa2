// Package compat runs the same scenarios against runc and against
// nook-runtime and compares what an engine parses: exit codes, the JSON of
// state, list, ps, events and features, the key phrases of error messages
// (the ones containerd's shim and Podman match), the JSON error line of
// --log FILE --log-format json, pid files, and the container's status and
// cgroup after each command.
//
// Each scenario gets, per runtime, its own --root in a temp dir and a fresh
// container id; both runtimes run the same bundle: busybox-static in a
// rootfs and `runc spec`'s config.json, adapted (process.terminal false,
// a long sleep as the program). Where runc and nook legitimately differ
// (version strings, pids, timestamps), the scenarios compare shapes only;
// each such place says why in a comment.
//
// It runs as root when runc is installed (/usr/sbin/runc, or $RUNC) and
// nook-runtime is built ($NOOK_RUNTIME, default ../../bin/nook-runtime:
// `make test-compat`); otherwise every test skips.
package compat
