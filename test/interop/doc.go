// Package interop drives nook-runtime through the engines users already run:
// Podman (--runtime), containerd (ctr --runc-binary, the runc shim's
// BinaryName) and Docker (a private dockerd with nook-runtime as a runtime
// in its daemon.json). Each test uses its own storage, socket and state dirs
// and removes them afterwards; every container's cgroup is under
// /nook-interop-PID (Podman's --cgroup-parent, the ctr namespace, dockerd's
// cgroup-parent), which the run removes at the end, failing if it cannot.
//
// It runs when root, when NOOK_RUNTIME and NOOK_PROBE name the built binaries
// and when podman and containerd are installed (make test-interop);
// otherwise every test skips. The Docker test also needs Debian's docker.io
// (dockerd, /usr/bin/docker) and skips, saying why, when it is missing or
// dockerd does not start. On a v1 or hybrid host the limits are checked in
// v1 files; in the cgroup v2 VM lane (make test-v2, VM_INTEROP_TESTS) in v2
// ones.
package interop
