// Package interop drives nook-runtime through the engines users already run:
// Podman (--runtime) and containerd (ctr --runc-binary, the runc shim's
// BinaryName). Each test uses its own storage, socket and state dirs and
// removes them afterwards.
//
// It runs when root, when NOOK_RUNTIME and NOOK_PROBE name the built binaries
// and when podman and containerd are installed (make test-interop);
// otherwise every test skips.
package interop
