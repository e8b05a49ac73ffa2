// Package registry gives tests a real OCI registry on loopback and images to
// pull from it, without internet.
//
// Start runs the CNCF distribution registry that Debian packages as
// docker-registry on 127.0.0.1 with its storage in the test's temp dir. The
// Push functions build images in memory with go-containerregistry — layers
// made from the host's busybox-static, the probe, and hand-written tar
// entries — and push them with the same HTTP API a client pulling from Docker
// Hub talks to:
//
//   - PushBusybox: one layer, a whole userland (Docker media types).
//   - PushMultiLayer: three layers with a whiteout and an opaque directory.
//   - PushIndex: an OCI index for linux/amd64 and linux/arm64.
//   - PushMalicious: layers that try to write outside the extraction
//     directory; the returned Trap tells whether one got out.
//   - PushRootfs: a rootfs tarball (hack/debian-rootfs.sh's Debian with
//     python3) as layer 1, extra files as layer 2.
//
// Nothing here needs root; the engine tests in test/engine use it.
package registry
