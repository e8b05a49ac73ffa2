// Package rootfs assembles a container's root filesystem from image layers.
//
// # Where it fits
//
// internal/image unpacks each layer into its own directory
// (internal/image/archive.Apply, overlayfs form). The engine then calls
// Mount with those directories (bottom first), the container's upper and
// work directories and the target, and hands the target to the runtime as
// the OCI bundle's rootfs. With --rootfs DIR the engine calls
// Mount([]string{DIR}, upper, work, target, Options{}): the user's directory
// is the single lowerdir and is never written to. Unmount (or Remove, which
// also deletes the target) undoes it when the container is removed.
//
// # Overlayfs
//
// The usual rootfs is an overlay mount: lowerdir=top:...:bottom,
// upperdir=upper, workdir=work (Documentation/filesystems/overlayfs.rst).
// Writes go to upper; the layers are shared by every container of the image
// and never change. ReadOnly mounts the lowers alone (overlayfs without an
// upperdir is read-only); a single read-only lower is a read-only bind mount
// instead, since an overlay needs two layers to stack without an upper.
//
// # Long lowerdir lists
//
// mount(2) takes its options as one string of at most a page (4096 bytes), so
// the classic "lowerdir=a:b:c" string runs out at a few dozen layers with
// long paths. Mount therefore uses the new mount API: fsopen("overlay"), one
// fsconfig "lowerdir+" per layer (Linux 6.8, commit 24e16e385f22), then
// fsmount and move_mount. The page limit then does not apply; each path must
// only be shorter than 256 bytes (fsconfig's string limit). Another benefit:
// when the kernel refuses, the reason it logs to the filesystem context
// ("overlay: ... not supported as upperdir") is read back and put in the
// error, instead of a bare EINVAL.
//
// On kernels without fsopen or lowerdir+, or for a path of 256 bytes or
// more, Mount falls back to mount(2) with the options string, escaping ':',
// ',' and '\' with a backslash; past one page it fails with a clear error.
// The other known workaround, chdir into the layers' common parent and pass
// relative paths, is not used: the working directory belongs to the whole
// process, and the engine is a multi-threaded Go program.
//
// # Copy fallback
//
// Where overlayfs cannot be used, Mount copies instead. That is decided once
// per filesystem holding the work directory: a small overlay is mounted in a
// scratch directory there, and ENODEV (no overlayfs in the kernel) or EINVAL
// (overlayfs refuses this filesystem as upper, for instance overlayfs itself)
// selects copying. Any other failure of the real mount is reported, not
// papered over. ForceCopy selects copying directly (tests).
//
// Copying streams each lower directory, bottom first, through archive.Tar
// into archive.ApplyFlat on the target: whiteouts delete, opaque directories
// are emptied, and ownership, modes, times, xattrs and hardlinks are kept
// with the same path-safety rules as layer unpacking. The target then holds
// the container's files itself (upper and work are unused). A record next to
// the target (".TARGET.nook-copy") names the layers, so that Mount on the
// same target after a restart keeps the container's files instead of copying
// again, and Copied and Remove know what the target is. A read-only copy is
// bind-mounted read-only onto itself.
package rootfs
