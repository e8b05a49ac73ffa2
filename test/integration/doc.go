// Package integration drives the built nook-runtime binary as root against
// the real kernel: the cgroup mode of the host it runs on (v1 hybrid here,
// v2 in the VM lane), real namespaces, real mounts.
//
// It runs when root and when NOOK_RUNTIME and NOOK_PROBE name the built
// binaries (make test-root does this); otherwise every test skips. Each test
// makes its own bundle from busybox-static plus the probe, its own state
// root, and checks after itself that no mount, cgroup or state dir is left.
package integration
