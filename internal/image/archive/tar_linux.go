package archive

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Tar writes the tree under dir to w as a layer tar stream: the inverse of
// Apply, used to copy layers into one tree with ApplyFlat when overlayfs
// cannot stack them. Overlayfs whiteouts (0:0 character devices) become
// ".wh.NAME" entries and an opaque directory (trusted.overlay.opaque="y")
// gets a ".wh..wh..opq" entry; a file with several links inside dir becomes a
// hardlink entry after its first name; xattrs the policy of doc.go allows are
// kept as PAX records, with nanosecond modification times. Symlinks are
// stored, not followed. Entries come in lexical order, "./" first. Sockets
// cannot be stored in tar and are skipped.
func Tar(dir string, w io.Writer, o Options) error {
	t := tarWriter{tw: tar.NewWriter(w), log: o.logger(), links: map[[2]uint64]string{}}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if err := t.entry(p, filepath.ToSlash(rel), d); err != nil {
			return fmt.Errorf("archiving %s: %w", p, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return t.tw.Close()
}

type tarWriter struct {
	tw  *tar.Writer
	log *slog.Logger
	// links maps a (device, inode) with several links to the name it was
	// first written under.
	links map[[2]uint64]string
}

func (t *tarWriter) entry(p, rel string, d fs.DirEntry) error {
	fi, err := d.Info()
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return errors.New("no stat information")
	}
	switch {
	case fi.Mode()&fs.ModeSocket != 0:
		t.log.Debug("socket not archived", "path", p)
		return nil
	case fi.Mode()&fs.ModeCharDevice != 0 && st.Rdev == 0:
		dir, base := split(rel)
		return t.tw.WriteHeader(&tar.Header{
			Name:     path.Join(dir, whiteoutPrefix+base),
			Typeflag: tar.TypeReg,
			ModTime:  fi.ModTime(),
			Format:   tar.FormatPAX,
		})
	}

	var link string
	if fi.Mode()&fs.ModeSymlink != 0 {
		if link, err = os.Readlink(p); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return err
	}
	hdr.Name = rel
	if fi.IsDir() {
		hdr.Name += "/"
	}
	hdr.Uname, hdr.Gname = "", ""
	hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
	hdr.Format = tar.FormatPAX
	if !fi.IsDir() && st.Nlink > 1 {
		key := [2]uint64{st.Dev, st.Ino}
		if first, ok := t.links[key]; ok {
			hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
		} else {
			t.links[key] = rel
		}
	}
	xattrs, err := listXattrs(p)
	if err != nil {
		return err
	}
	for name, value := range xattrs {
		if xattrAllowed(name) {
			if hdr.PAXRecords == nil {
				hdr.PAXRecords = map[string]string{}
			}
			hdr.PAXRecords[paxXattr+name] = value
		}
	}
	if err := t.tw.WriteHeader(hdr); err != nil {
		return err
	}
	if hdr.Typeflag == tar.TypeReg && hdr.Size > 0 {
		if err := t.content(p); err != nil {
			return err
		}
	}
	if fi.IsDir() && xattrs[opaqueXattr] == "y" {
		return t.tw.WriteHeader(&tar.Header{
			Name:     path.Join(rel, opaqueName),
			Typeflag: tar.TypeReg,
			ModTime:  fi.ModTime(),
			Format:   tar.FormatPAX,
		})
	}
	return nil
}

func (t *tarWriter) content(p string) error {
	f, err := os.OpenFile(p, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(t.tw, f)
	return err
}

// listXattrs returns the xattrs of p (not following a final symlink).
func listXattrs(p string) (map[string]string, error) {
	size, err := unix.Llistxattr(p, nil)
	if errors.Is(err, unix.ENOTSUP) {
		return nil, nil
	}
	if err != nil || size == 0 {
		return nil, err
	}
	buf := make([]byte, size)
	size, err = unix.Llistxattr(p, buf)
	if err != nil {
		return nil, fmt.Errorf("listing xattrs: %w", err)
	}
	out := map[string]string{}
	for _, name := range splitNul(buf[:size]) {
		n, err := unix.Lgetxattr(p, name, nil)
		if errors.Is(err, unix.ENODATA) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading xattr %s: %w", name, err)
		}
		v := make([]byte, n)
		n, err = unix.Lgetxattr(p, name, v)
		if err != nil {
			return nil, fmt.Errorf("reading xattr %s: %w", name, err)
		}
		out[name] = string(v[:n])
	}
	return out, nil
}

func splitNul(b []byte) []string {
	var out []string
	for len(b) > 0 {
		i := 0
		for i < len(b) && b[i] != 0 {
			i++
		}
		if i > 0 {
			out = append(out, string(b[:i]))
		}
		if i < len(b) {
			i++
		}
		b = b[i:]
	}
	return out
}
