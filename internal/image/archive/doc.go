// Package archive unpacks image layers (tar streams) onto disk, and packs a
// directory back into a layer stream.
//
// # Where it fits
//
// internal/image pulls a layer blob, wraps it with Decompress and calls Apply
// to unpack it into the layer's own directory. Those directories become the
// lowerdirs of an overlayfs mount made by internal/image/rootfs. When
// overlayfs cannot be used, rootfs copies the layers into the container's
// rootfs with Tar and ApplyFlat instead.
//
// # Two forms of whiteouts
//
// A layer deletes a file of a lower layer with a whiteout entry (OCI image
// spec, "layer.md", "Whiteouts"): ".wh.NAME" hides NAME, and the entry
// ".wh..wh..opq" in a directory D hides everything the lower layers had in D
// (D is "opaque"). Apply writes them in the form overlayfs reads
// (Documentation/filesystems/overlayfs.rst, "whiteouts and opaque
// directories"): a character device NAME with device number 0:0, and the
// xattr trusted.overlay.opaque="y" on D. ApplyFlat instead performs them on a
// tree that already holds the lower layers: it deletes NAME, and deletes what
// D held before this layer. Tar does the reverse of Apply. As the OCI spec
// says, a whiteout only acts on lower layers: a whiteout for a path this same
// layer has already written is ignored, and other ".wh..wh." names (AUFS
// bookkeeping such as ".wh..wh.plnk") are skipped.
//
// # Path safety
//
// A layer is untrusted input, and no entry may create, change or remove
// anything outside the target directory. The rule, the same as containerd's:
// every path is resolved inside the target, as if the target were "/".
//
//   - An entry name is made relative: a leading "/" is dropped, so
//     "/etc/passwd" is written to DIR/etc/passwd (as GNU tar and Docker do).
//     A name whose ".." components climb above the top ("../x", "a/../../x")
//     is refused with ErrEscape: `layer entry "../x": path escapes the layer`.
//     Hardlink targets follow the same rule.
//   - The directories leading to an entry are opened with openat2(2) and
//     RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS relative to the target, so a
//     symlink planted by an earlier entry ("a" -> /etc, then "a/passwd") is
//     followed as if chrooted: the file lands in DIR/etc/passwd. ".." and
//     absolute symlinks cannot leave the target; /proc magic links are refused.
//     The directory handle is reused for the next entries in the same
//     directory until an entry removes or replaces anything, after which the
//     directory is resolved again.
//   - The entry itself (the last component) is never followed: it is created
//     with *at(2) calls relative to the opened parent (O_NOFOLLOW, O_EXCL,
//     AT_SYMLINK_NOFOLLOW), after removing whatever was there.
//   - Symlink contents are stored as they are: a symlink may point anywhere,
//     it is just never followed while unpacking.
//   - A hardlink's target is resolved inside the target like any other path,
//     and the link is made to the target's last component itself (linkat(2)
//     without AT_SYMLINK_FOLLOW), so it can only ever link a file that is
//     inside the target.
//   - Directory modes and times are applied after the whole layer (so a
//     read-only directory can still be filled and its mtime survives); each
//     such directory is re-opened inside the target with O_NOFOLLOW, so a
//     later entry that replaced it with a symlink cannot redirect the chmod.
//
// The rule assumes nothing else changes dir while a layer is being unpacked
// (no container runs on it yet). Even so, every call that could follow a
// symlink in the last component is made not to: lchown, lsetxattr,
// utimensat(AT_SYMLINK_NOFOLLOW), and fchmodat2(AT_SYMLINK_NOFOLLOW); only
// before Linux 6.6, without fchmodat2, does a chmod fall back to fchmodat
// after checking the entry is not a symlink, a check a concurrent writer could
// race.
//
// openat2 needs Linux 5.6. Xattrs are set through /proc/self/fd/N/NAME, where
// N is the already-resolved parent, so /proc must be mounted.
//
// # Metadata
//
// Apply keeps what a container image needs: regular files, directories,
// symlinks, hardlinks, character and block devices, fifos; owner (lchown),
// mode including setuid, setgid and sticky (chmod after chown, since chown
// clears setuid), modification and access times (nanoseconds from PAX
// headers), and xattrs from PAX "SCHILY.xattr.NAME" records.
//
// Xattr policy: user.*, security.* (security.capability gives binaries such
// as ping their file capabilities) and the POSIX ACLs system.posix_acl_access
// and system.posix_acl_default are applied; trusted.* is never taken from a
// layer, because trusted.overlay.* xattrs would let a layer forge overlayfs
// metadata (opaque, redirect, metacopy) in the stacked mount; only Apply
// itself sets trusted.overlay.opaque, for ".wh..wh..opq". Other namespaces are
// skipped. A filesystem that does not support an xattr (ENOTSUP), or a
// non-root caller not allowed to set it (EPERM), is logged at warn level and
// the rest of the layer is unpacked, as Docker does.
//
// Run as a non-root user (tests, rootless use) Apply skips what only root may
// do instead of failing: chown to another owner, and creating character or
// block devices other than whiteouts.
package archive
