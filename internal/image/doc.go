// Package image is the first step of nook's flow (image → rootfs → spec → network → runtime): it turns
// a name like "alpine" into a stack of unpacked layer directories that internal/image/rootfs mounts
// with overlayfs.
//
// It owns:
//   - references, parsed and normalized like Docker's ("alpine" → "docker.io/library/alpine:latest");
//   - a content-addressed blob store (blobs/sha256/<hex>) holding manifests, configs and the compressed
//     layers exactly as fetched, each written to a temporary file, verified against its digest, synced
//     and renamed into place, so an interrupted pull never leaves a corrupt blob behind;
//   - unpacked layers, one directory per layer diffID under l/<short id>, unpacked by
//     internal/image/archive into a temporary directory and renamed into place, shared between images;
//   - metadata (images/<id>.json, repositories.json for tags, layers.json for unpacked layers), always
//     replaced atomically while holding an exclusive flock(2) on <root>/lock;
//   - the registry protocol (pull and push, via go-containerregistry), import of a rootfs tarball,
//     save and load of docker-archive and OCI-archive tarballs, and the built-in busybox image.
//
// Layout of the store root (<nook root>/image):
//
//	lock                  flock(2) target: exclusive for metadata updates, shared for reads
//	blobs/sha256/<hex>    content-addressed blobs
//	l/<12 hex>            unpacked layers (short names keep overlay's lowerdir option under a page);
//	                      l is marked chattr +T so that ext4 spreads them (markTopDir)
//	images/<hex>.json     one record per image, keyed by the config digest (Docker's image ID)
//	repositories.json     tag → image ID
//	layers.json           diffID → layer directory and unpacked size
//
// Temporary files and directories are named .tmp-<pid>-*; those left by a process that no longer
// exists are removed by the next pull, import or load.
package image
