package rootfs

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
	"syscall"
	"testing"
	"time"

	"github.com/nook-containers/nook/internal/image/archive"
)

func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

// ent is a test layer entry: name ending in "/" is a directory, "->" in
// link makes a symlink, anything else a file with body as content.
type ent struct {
	name, body, link string
}

func f(name, body string) ent { return ent{name: name, body: body} }
func d(name string) ent       { return ent{name: name} }
func s(name, link string) ent { return ent{name: name, link: link} }

// mkLayer unpacks ents with archive.Apply into a new directory (overlay
// form, as internal/image does) and returns it.
func mkLayer(t testing.TB, dir string, ents ...ent) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		h := &tar.Header{Name: e.name, Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(e.body)), ModTime: time.Unix(1700000000, 0)}
		switch {
		case e.link != "":
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, e.link, 0
		case e.name[len(e.name)-1] == '/':
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(e.body))
	}
	tw.Close()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := archive.Apply(dir, &buf, archive.Options{}); err != nil {
		t.Fatalf("unpacking test layer: %v", err)
	}
	return dir
}

// mount calls Mount and registers an Unmount for the end of the test. The
// cleanup is registered after the t.TempDir calls that made the paths, so it
// runs before they are removed.
func mount(t testing.TB, lowers []string, upper, work, target string, o Options) {
	t.Helper()
	t.Cleanup(func() {
		if err := Unmount(target); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	if err := Mount(lowers, upper, work, target, o); err != nil {
		t.Fatalf("Mount: %v", err)
	}
}

type node struct {
	Type     fs.FileMode
	Perm     fs.FileMode
	UID, GID uint32
	Link     string
	Sum      string
}

// tree describes every path under root.
func tree(t testing.TB, root string) map[string]node {
	t.Helper()
	out := map[string]node{}
	err := filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := de.Info()
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		n := node{Type: fi.Mode().Type(), Perm: fi.Mode().Perm(), UID: st.Uid, GID: st.Gid}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			n.Link, _ = os.Readlink(p)
			n.Perm = 0
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			n.Sum = hex.EncodeToString(sum[:])
		}
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
		if m, ok := b[p]; !ok {
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

func read(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
