package archive

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// ent is one entry of a test layer: a header and, for regular files, its
// content. Size is filled in from body.
type ent struct {
	tar.Header
	body string
}

func file(name, body string) ent {
	return ent{Header: tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644}, body: body}
}

func dir(name string) ent {
	return ent{Header: tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755}}
}

func symlink(name, target string) ent {
	return ent{Header: tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777}}
}

func hardlink(name, target string) ent {
	return ent{Header: tar.Header{Name: name, Typeflag: tar.TypeLink, Linkname: target}}
}

// layer builds a tar stream in memory. Entries without a ModTime get a fixed
// one, so trees built from the same entries compare equal.
func layer(t testing.TB, ents ...ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		h := e.Header
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if h.ModTime.IsZero() {
			h.ModTime = time.Unix(1700000000, 0)
		}
		if h.Format == tar.FormatUnknown {
			h.Format = tar.FormatPAX
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("writing test layer header %q: %v", h.Name, err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatalf("writing test layer body %q: %v", h.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sandbox makes parent/root (the directory to unpack into) and a sentinel
// file parent/keep, and registers a check that, at the end of the test,
// parent still holds exactly those two with keep unchanged and parent's mode
// unchanged: nothing was written, changed or removed outside root.
func sandbox(t testing.TB) (parent, root string) {
	t.Helper()
	parent = t.TempDir()
	root = filepath.Join(parent, "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(parent, "keep"), []byte("sentinel"), 0o600); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(parent)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		checkSealed(t, parent, before.Mode())
		if os.Geteuid() != 0 {
			// Let t.TempDir remove read-only directories a layer made.
			filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
				if err == nil && d.IsDir() {
					os.Chmod(p, 0o755)
				}
				return nil
			})
		}
	})
	return parent, root
}

func checkSealed(t testing.TB, parent string, mode fs.FileMode) {
	t.Helper()
	names, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range names {
		got = append(got, n.Name())
	}
	if !slices.Equal(got, []string{"keep", "root"}) {
		t.Errorf("outside the layer directory: %s holds %v, want [keep root]", parent, got)
	}
	b, err := os.ReadFile(filepath.Join(parent, "keep"))
	if err != nil || string(b) != "sentinel" {
		t.Errorf("outside the layer directory: sentinel file changed: %q, %v", b, err)
	}
	fi, err := os.Stat(parent)
	if err != nil || fi.Mode() != mode {
		t.Errorf("outside the layer directory: %s mode changed to %v (%v), was %v", parent, fi.Mode(), err, mode)
	}
}

func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

// node describes one path of a tree for comparisons.
type node struct {
	Type   fs.FileMode
	Perm   fs.FileMode
	UID    uint32
	GID    uint32
	Rdev   uint64
	Link   string
	Sum    string
	Mtime  int64
	Xattrs string
}

// snapshot describes every path under root. Directory mtimes are left out
// when dirTimes is false.
func snapshot(t testing.TB, root string, dirTimes bool) map[string]node {
	t.Helper()
	out := map[string]node{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		n := node{
			Type: fi.Mode().Type(), Perm: fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky),
			UID: st.Uid, GID: st.Gid, Rdev: st.Rdev, Mtime: fi.ModTime().UnixNano(),
		}
		if fi.IsDir() && !dirTimes || fi.Mode()&fs.ModeCharDevice != 0 && st.Rdev == 0 {
			n.Mtime = 0 // whiteouts carry no meaningful time
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			n.Link, _ = os.Readlink(p)
			n.Perm = 0
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			s := sha256.Sum256(b)
			n.Sum = hex.EncodeToString(s[:])
		}
		x, err := listXattrs(p)
		if err != nil {
			return err
		}
		var xs []string
		for k, v := range x {
			if strings.HasPrefix(k, "security.selinux") {
				continue
			}
			xs = append(xs, k+"="+v)
		}
		slices.Sort(xs)
		n.Xattrs = strings.Join(xs, ",")
		rel, _ := filepath.Rel(root, p)
		out[rel] = n
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func diffTrees(a, b map[string]node) error {
	var errs []error
	for p, n := range a {
		m, ok := b[p]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: only in the first tree", p))
		} else if n != m {
			errs = append(errs, fmt.Errorf("%s: %+v != %+v", p, n, m))
		}
	}
	for p := range b {
		if _, ok := a[p]; !ok {
			errs = append(errs, fmt.Errorf("%s: only in the second tree", p))
		}
	}
	return errors.Join(errs...)
}

func lstat(t testing.TB, p string) unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatalf("lstat %s: %v", p, err)
	}
	return st
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

func dirHeader(name string, mode int64) tar.Header {
	return tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: mode}
}
