package archive

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// Options configure Apply, ApplyFlat and Tar.
type Options struct {
	// Log receives a debug trace (whiteouts, skipped xattrs) and warnings
	// about metadata that could not be kept. Nil discards.
	Log *slog.Logger
}

func (o Options) logger() *slog.Logger {
	if o.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Log
}

// Apply unpacks the layer tar stream r (already decompressed, see
// Decompress) into dir, an existing empty directory, and returns the number
// of bytes of file content written. Whiteouts are written in overlayfs form:
// ".wh.NAME" becomes a 0:0 character device NAME, and ".wh..wh..opq" in a
// directory D sets the xattr trusted.overlay.opaque="y" on D, so that dir can
// be used as an overlayfs lowerdir. No entry can write outside dir (see the
// package documentation for the rule); an entry that tries is refused and
// Apply returns an error naming it.
//
// After the end-of-archive marker the rest of r is read and discarded, so a
// caller hashing the stream as it is read sees all of it.
func Apply(dir string, r io.Reader, o Options) (int64, error) {
	return apply(dir, r, o, false)
}

// ApplyFlat unpacks the layer tar stream r onto dir, a directory that already
// holds the layers below it, performing whiteouts by deletion: ".wh.NAME"
// removes NAME, and ".wh..wh..opq" in D removes what D held before this
// layer. It is what copying layers into one tree needs, when overlayfs is not
// available or a plain directory is wanted. Path safety is the same as
// Apply's.
func ApplyFlat(dir string, r io.Reader, o Options) (int64, error) {
	return apply(dir, r, o, true)
}

// extractor is the state of one Apply or ApplyFlat.
type extractor struct {
	root       int // O_PATH descriptor of the target directory
	flat       bool
	privileged bool // euid 0: ownership and device nodes are kept exactly
	log        *slog.Logger
	// written holds the clean relative path of every entry this layer has
	// created so far: whiteouts do not act on them (OCI: a whiteout only
	// hides lower layers), nor does ApplyFlat's opaque clearing.
	written map[string]bool
	// dirs are the directories whose mode and times are set at the end.
	dirs []dirAttrs
	// warned remembers the xattrs a warning was already logged for.
	warned map[string]bool
	n      int64
	sparse int64 // expanded size of the sparse files so far
	// parent is an O_PATH handle on the directory parentRel, where the
	// last entry went (see parentDir); -1 for none.
	parent    int
	parentRel string
	// buf is the copy buffer for file contents, one for the whole layer.
	buf []byte
}

func apply(dir string, r io.Reader, o Options, flat bool) (int64, error) {
	root, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("opening layer directory: %w", &os.PathError{Op: "open", Path: dir, Err: err})
	}
	defer unix.Close(root)
	x := &extractor{
		root:       root,
		flat:       flat,
		privileged: os.Geteuid() == 0,
		log:        o.logger(),
		written:    map[string]bool{},
		warned:     map[string]bool{},
		parent:     -1,
	}
	defer x.closeParent()
	tr := tar.NewReader(r)
	entries := 0
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return x.n, fmt.Errorf("reading layer: %w", err)
		}
		if err := x.entry(hdr, tr); err != nil {
			return x.n, fmt.Errorf("layer entry %q: %w", hdr.Name, err)
		}
		entries++
	}
	if err := x.finishDirs(); err != nil {
		return x.n, err
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return x.n, fmt.Errorf("reading layer: %w", err)
	}
	x.log.Debug("layer unpacked", "dir", dir, "flat", flat, "entries", entries, "bytes", x.n)
	return x.n, nil
}

// entry unpacks one tar entry.
func (x *extractor) entry(hdr *tar.Header, r io.Reader) error {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	rel, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	dir, base := split(rel)
	if strings.HasPrefix(base, whiteoutPrefix) {
		return x.whiteout(dir, base)
	}
	if rel == "." {
		if hdr.Typeflag != tar.TypeDir {
			return errors.New("the layer root can only be a directory")
		}
		x.written[rel] = true
		return x.attrs(x.root, ".", rel, hdr)
	}
	parent, err := x.parentDir(dir)
	if err != nil {
		return err
	}
	if err := x.create(parent, base, rel, hdr, r); err != nil {
		return err
	}
	x.written[rel] = true
	return nil
}

// parentDir returns an O_PATH handle on the directory dir inside the root,
// creating missing directories (mkdirAll). The handle stays open for the next
// entries: a layer lists a directory's files one after the other, and each
// openat2 would walk the same path again. Reusing the handle keeps the path
// safety rule (doc.go): it was resolved inside the root, and Apply moves
// nothing, so it stays inside. What dir resolves to can change only when an
// entry removes or replaces something (a new name does not change how a path
// that exists already resolves), so every removal goes through x.remove,
// which makes the next entry resolve its directory again.
//
// The handle is owned by the extractor: callers must not close it.
func (x *extractor) parentDir(dir string) (int, error) {
	if reuseParent && x.parent >= 0 && x.parentRel == dir {
		return x.parent, nil
	}
	x.closeParent()
	fd, err := mkdirAll(x.root, dir)
	if err != nil {
		return -1, err
	}
	x.parent, x.parentRel = fd, dir
	return fd, nil
}

// reuseParent is false only in a test that checks that reusing the handle
// changes nothing.
var reuseParent = true

// closeParent closes the handle parentDir keeps.
func (x *extractor) closeParent() {
	if x.parent >= 0 {
		unix.Close(x.parent)
	}
	x.parent, x.parentRel = -1, ""
}

// remove is removeAt for the extractor: a removal may change what any path
// of the layer resolves to, so parentDir's handle is not reused after it. The
// handle itself stays open, since the caller may be using it as dirfd.
func (x *extractor) remove(dirfd int, name string) error {
	x.parentRel = "" // never a directory name: cleanName returns "." for the root
	return removeAt(dirfd, name)
}

// create makes the entry base in the directory parent, replacing what was
// there (a directory is merged into an existing directory), then sets its
// metadata.
func (x *extractor) create(parent int, base, rel string, hdr *tar.Header, r io.Reader) error {
	var st unix.Stat_t
	err := unix.Fstatat(parent, base, &st, unix.AT_SYMLINK_NOFOLLOW)
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return &os.PathError{Op: "lstat", Path: rel, Err: err}
	}
	existingDir := err == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR
	if err == nil && !(existingDir && hdr.Typeflag == tar.TypeDir) {
		if err := x.remove(parent, base); err != nil {
			return fmt.Errorf("replacing existing entry: %w", err)
		}
	}

	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeGNUSparse, tar.TypeCont:
		if err := x.file(parent, base, hdr, r); err != nil {
			return err
		}
	case tar.TypeDir:
		// Created owner-only; the layer's mode is set once the directory is
		// filled (finishDirs).
		if !existingDir {
			if err := unix.Mkdirat(parent, base, 0o700); err != nil {
				return &os.PathError{Op: "mkdir", Path: rel, Err: err}
			}
		}
	case tar.TypeSymlink:
		if err := unix.Symlinkat(hdr.Linkname, parent, base); err != nil {
			return &os.PathError{Op: "symlink", Path: rel, Err: err}
		}
	case tar.TypeLink:
		// A hardlink shares its target's inode, metadata included.
		return x.link(parent, base, hdr.Linkname)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		skipped, err := x.mknod(parent, base, hdr)
		if err != nil || skipped {
			return err
		}
	default:
		return fmt.Errorf("unsupported entry type %q", hdr.Typeflag)
	}
	return x.attrs(parent, base, rel, hdr)
}

// file writes a regular file's content.
func (x *extractor) file(parent int, base string, hdr *tar.Header, r io.Reader) error {
	sparse := isSparse(hdr)
	if sparse {
		if x.sparse+hdr.Size > maxSparse || hdr.Size < 0 {
			return fmt.Errorf("sparse files expand past %d bytes", maxSparse)
		}
		x.sparse += hdr.Size
	}
	fd, err := unix.Openat(parent, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return &os.PathError{Op: "create", Path: base, Err: err}
	}
	f := os.NewFile(uintptr(fd), base)
	var n int64
	if sparse {
		n, err = copySparse(f, r)
	} else {
		if x.buf == nil {
			x.buf = make([]byte, 256<<10)
		}
		// Hide *os.File's ReadFrom, which would allocate a 32 KiB buffer
		// for every file: a tar reader is nothing it can splice from.
		n, err = io.CopyBuffer(struct{ io.Writer }{f}, r, x.buf)
	}
	x.n += n
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing file content: %w", err)
	}
	return nil
}

// link makes base in parent a hardlink to target, a path inside the layer
// resolved by the same rule as entry names. The target's last component is
// linked itself, never followed.
func (x *extractor) link(parent int, base, target string) error {
	trel, err := cleanName(target)
	if err != nil {
		return fmt.Errorf("hardlink target %q: %w", target, err)
	}
	if trel == "." {
		return fmt.Errorf("hardlink target %q: is the layer root", target)
	}
	tdir, tbase := split(trel)
	tparent, err := openDir(x.root, tdir)
	if err != nil {
		return fmt.Errorf("hardlink target %q: %w", target, err)
	}
	defer unix.Close(tparent)
	if err := unix.Linkat(tparent, tbase, parent, base, 0); err != nil {
		return fmt.Errorf("hardlink to %q: %w", target, err)
	}
	return nil
}

// mknod creates a device node or fifo. Without privilege a character or
// block device cannot be made; it is skipped with a warning (skipped true).
func (x *extractor) mknod(parent int, base string, hdr *tar.Header) (skipped bool, err error) {
	mode := uint32(unix.S_IFIFO)
	switch hdr.Typeflag {
	case tar.TypeChar:
		mode = unix.S_IFCHR
	case tar.TypeBlock:
		mode = unix.S_IFBLK
	}
	if hdr.Devmajor < 0 || hdr.Devmajor > 0xfffff || hdr.Devminor < 0 || hdr.Devminor > 0xfffff {
		return false, fmt.Errorf("invalid device number %d:%d", hdr.Devmajor, hdr.Devminor)
	}
	dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
	err = unix.Mknodat(parent, base, mode|0o600, int(dev))
	if errors.Is(err, unix.EPERM) && !x.privileged && mode != unix.S_IFIFO {
		x.log.Warn("device node skipped: creating it needs privilege", "name", hdr.Name)
		return true, nil
	}
	if err != nil {
		return false, &os.PathError{Op: "mknod", Path: base, Err: err}
	}
	return false, nil
}
