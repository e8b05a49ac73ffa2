package archive

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestApplyKinds(t *testing.T) {
	mtime := time.Unix(1600000000, 123456789)
	tests := []struct {
		name  string
		root  bool // needs root
		ents  []ent
		check func(t *testing.T, root string)
	}{
		{
			name: "regular file with mode and mtime",
			ents: []ent{{Header: tar.Header{Name: "etc/motd", Typeflag: tar.TypeReg, Mode: 0o640, ModTime: mtime}, body: "hello"}},
			check: func(t *testing.T, root string) {
				b, err := os.ReadFile(filepath.Join(root, "etc/motd"))
				if err != nil || string(b) != "hello" {
					t.Fatalf("content %q, %v", b, err)
				}
				st := lstat(t, filepath.Join(root, "etc/motd"))
				if st.Mode&0o7777 != 0o640 {
					t.Errorf("mode %o, want 640", st.Mode&0o7777)
				}
				if st.Mtim.Sec != mtime.Unix() || st.Mtim.Nsec != int64(mtime.Nanosecond()) {
					t.Errorf("mtime %v, want %v", st.Mtim, mtime)
				}
				if st := lstat(t, filepath.Join(root, "etc")); st.Mode&0o7777 != 0o755 {
					t.Errorf("implicit parent mode %o, want 755", st.Mode&0o7777)
				}
			},
		},
		{
			name: "read-only directory filled, its mtime kept",
			ents: []ent{
				{Header: tar.Header{Name: "ro/", Typeflag: tar.TypeDir, Mode: 0o555, ModTime: mtime}},
				file("ro/a", "a"),
				dir("ro/sub/"),
				file("ro/sub/b", "b"),
			},
			check: func(t *testing.T, root string) {
				st := lstat(t, filepath.Join(root, "ro"))
				if st.Mode&0o7777 != 0o555 || st.Mtim.Sec != mtime.Unix() || st.Mtim.Nsec != int64(mtime.Nanosecond()) {
					t.Errorf("dir mode %o mtime %v, want 555 %v", st.Mode&0o7777, st.Mtim, mtime)
				}
				if !exists(filepath.Join(root, "ro/sub/b")) {
					t.Error("ro/sub/b missing")
				}
			},
		},
		{
			name: "symlinks are stored, not followed",
			ents: []ent{symlink("abs", "/etc/shadow"), symlink("rel", "../../x"), symlink("dangling", "nowhere")},
			check: func(t *testing.T, root string) {
				for name, want := range map[string]string{"abs": "/etc/shadow", "rel": "../../x", "dangling": "nowhere"} {
					got, err := os.Readlink(filepath.Join(root, name))
					if err != nil || got != want {
						t.Errorf("%s -> %q (%v), want %q", name, got, err, want)
					}
				}
			},
		},
		{
			name: "hardlinks share an inode",
			ents: []ent{file("bin/a", "x"), hardlink("bin/b", "bin/a"), hardlink("/c", "/bin/a")},
			check: func(t *testing.T, root string) {
				a, b, c := lstat(t, filepath.Join(root, "bin/a")), lstat(t, filepath.Join(root, "bin/b")), lstat(t, filepath.Join(root, "c"))
				if a.Ino != b.Ino || a.Ino != c.Ino || a.Nlink != 3 {
					t.Errorf("inodes %d %d %d nlink %d, want one inode with 3 links", a.Ino, b.Ino, c.Ino, a.Nlink)
				}
			},
		},
		{
			name: "fifo",
			ents: []ent{{Header: tar.Header{Name: "run/fifo", Typeflag: tar.TypeFifo, Mode: 0o620}}},
			check: func(t *testing.T, root string) {
				st := lstat(t, filepath.Join(root, "run/fifo"))
				if st.Mode&unix.S_IFMT != unix.S_IFIFO || st.Mode&0o7777 != 0o620 {
					t.Errorf("mode %o, want fifo 620", st.Mode)
				}
			},
		},
		{
			name: "devices and ownership",
			root: true,
			ents: []ent{
				{Header: tar.Header{Name: "dev/null", Typeflag: tar.TypeChar, Mode: 0o666, Devmajor: 1, Devminor: 3}},
				{Header: tar.Header{Name: "dev/loop9", Typeflag: tar.TypeBlock, Mode: 0o660, Devmajor: 7, Devminor: 9, Gid: 6}},
				{Header: tar.Header{Name: "home/u/f", Typeflag: tar.TypeReg, Mode: 0o600, Uid: 1000, Gid: 1001}, body: "u"},
				{Header: tar.Header{Name: "home/u/l", Typeflag: tar.TypeSymlink, Linkname: "f", Uid: 1002, Gid: 1003}},
				{Header: tar.Header{Name: "home/u/", Typeflag: tar.TypeDir, Mode: 0o700, Uid: 1000, Gid: 1000}},
			},
			check: func(t *testing.T, root string) {
				st := lstat(t, filepath.Join(root, "dev/null"))
				if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) || st.Mode&0o777 != 0o666 {
					t.Errorf("dev/null mode %o rdev %x", st.Mode, st.Rdev)
				}
				st = lstat(t, filepath.Join(root, "dev/loop9"))
				if st.Mode&unix.S_IFMT != unix.S_IFBLK || st.Rdev != unix.Mkdev(7, 9) || st.Gid != 6 {
					t.Errorf("dev/loop9 mode %o rdev %x gid %d", st.Mode, st.Rdev, st.Gid)
				}
				for name, want := range map[string][2]uint32{"home/u/f": {1000, 1001}, "home/u/l": {1002, 1003}, "home/u": {1000, 1000}} {
					st := lstat(t, filepath.Join(root, name))
					if st.Uid != want[0] || st.Gid != want[1] {
						t.Errorf("%s owned by %d:%d, want %d:%d", name, st.Uid, st.Gid, want[0], want[1])
					}
				}
			},
		},
		{
			name: "setuid, setgid and sticky survive chown",
			root: true,
			ents: []ent{
				{Header: tar.Header{Name: "usr/bin/su", Typeflag: tar.TypeReg, Mode: 0o4755, Uid: 0, Gid: 0}, body: "su"},
				{Header: tar.Header{Name: "usr/bin/wall", Typeflag: tar.TypeReg, Mode: 0o2755, Uid: 0, Gid: 5}, body: "w"},
				{Header: tar.Header{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777}},
				{Header: tar.Header{Name: "srv/", Typeflag: tar.TypeDir, Mode: 0o2775, Gid: 50}},
			},
			check: func(t *testing.T, root string) {
				for name, want := range map[string]uint32{"usr/bin/su": 0o4755, "usr/bin/wall": 0o2755, "tmp": 0o1777, "srv": 0o2775} {
					if st := lstat(t, filepath.Join(root, name)); st.Mode&0o7777 != want {
						t.Errorf("%s mode %o, want %o", name, st.Mode&0o7777, want)
					}
				}
			},
		},
		{
			name: "xattr policy",
			root: true,
			ents: []ent{{Header: tar.Header{Name: "bin/ping", Typeflag: tar.TypeReg, Mode: 0o755, PAXRecords: map[string]string{
				"SCHILY.xattr.user.note":              "kept",
				"SCHILY.xattr.security.capability":    "\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
				"SCHILY.xattr.trusted.overlay.opaque": "y",
				"SCHILY.xattr.trusted.other":          "dropped",
			}}, body: "ping"}},
			check: func(t *testing.T, root string) {
				x, err := listXattrs(filepath.Join(root, "bin/ping"))
				if err != nil {
					t.Fatal(err)
				}
				if x["user.note"] != "kept" && userXattrs(t, root) {
					t.Errorf("user.note = %q, want kept", x["user.note"])
				}
				if _, ok := x["security.capability"]; !ok {
					t.Error("security.capability missing")
				}
				for _, n := range []string{"trusted.overlay.opaque", "trusted.other"} {
					if _, ok := x[n]; ok {
						t.Errorf("%s taken from the layer", n)
					}
				}
			},
		},
		{
			name: "whiteouts become 0:0 character devices",
			root: true,
			ents: []ent{dir("etc/"), {Header: tar.Header{Name: "etc/.wh.passwd", Typeflag: tar.TypeReg, Uid: 1000}}, file(".wh.gone", "")},
			check: func(t *testing.T, root string) {
				for _, name := range []string{"etc/passwd", "gone"} {
					st := lstat(t, filepath.Join(root, name))
					if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 || st.Uid != 0 || st.Gid != 0 {
						t.Errorf("%s: mode %o rdev %d owner %d:%d, want a 0:0 char device owned by 0:0", name, st.Mode, st.Rdev, st.Uid, st.Gid)
					}
				}
				if exists(filepath.Join(root, "etc/.wh.passwd")) {
					t.Error("whiteout entry written as a file")
				}
			},
		},
		{
			name: "opaque directory gets the overlay xattr",
			root: true,
			ents: []ent{dir("var/"), dir("var/cache/"), file("var/cache/.wh..wh..opq", ""), file("var/cache/new", "n"), file(".wh..wh..plnk", "")},
			check: func(t *testing.T, root string) {
				x, err := listXattrs(filepath.Join(root, "var/cache"))
				if err != nil {
					t.Fatal(err)
				}
				if x[opaqueXattr] != "y" {
					t.Errorf("%s = %q, want y", opaqueXattr, x[opaqueXattr])
				}
				if exists(filepath.Join(root, "var/cache/.wh..wh..opq")) || exists(filepath.Join(root, ".wh..wh..plnk")) {
					t.Error("opaque or aufs marker written as a file")
				}
			},
		},
		{
			name: "a whiteout does not hide an entry of its own layer",
			ents: []ent{file("a", "mine"), file(".wh.a", "")},
			check: func(t *testing.T, root string) {
				if b, err := os.ReadFile(filepath.Join(root, "a")); err != nil || string(b) != "mine" {
					t.Errorf("a = %q, %v; want the layer's own file", b, err)
				}
			},
		},
		{
			name: "root entry sets the root's mode; later entries replace earlier ones",
			ents: []ent{
				{Header: tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o750}},
				dir("x/"), file("x/in", "1"), file("x", "now a file"),
				file("y", "file"), dir("y/"),
			},
			check: func(t *testing.T, root string) {
				if st := lstat(t, root); st.Mode&0o7777 != 0o750 {
					t.Errorf("root mode %o, want 750", st.Mode&0o7777)
				}
				if b, err := os.ReadFile(filepath.Join(root, "x")); err != nil || string(b) != "now a file" {
					t.Errorf("x = %q, %v", b, err)
				}
				if st := lstat(t, filepath.Join(root, "y")); st.Mode&unix.S_IFMT != unix.S_IFDIR {
					t.Errorf("y mode %o, want a directory", st.Mode)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.root {
				needRoot(t)
			}
			_, root := sandbox(t)
			data := layer(t, tt.ents...)
			var want int64
			for _, e := range tt.ents {
				want += int64(len(e.body))
			}
			n, err := Apply(root, bytes.NewReader(data), Options{})
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if n != want {
				t.Errorf("Apply wrote %d bytes, want %d", n, want)
			}
			tt.check(t, root)
		})
	}
}

func TestApplyReadsWholeStream(t *testing.T) {
	_, root := sandbox(t)
	data := append(layer(t, file("a", "x")), make([]byte, 4096)...)
	r := bytes.NewReader(data)
	if _, err := Apply(root, r, Options{}); err != nil {
		t.Fatal(err)
	}
	if r.Len() != 0 {
		t.Errorf("%d bytes left unread", r.Len())
	}
}

func TestApplyBadInput(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"truncated", layer(t, file("a", "hello"))[:515]},
		{"garbage", bytes.Repeat([]byte("not a tar "), 100)},
		{"root as a file", layer(t, file(".", "x"))},
		{"bad whiteout", layer(t, file(".wh..", ""))},
		{"unsupported type", layer(t, ent{Header: tar.Header{Name: "v", Typeflag: 'V'}})},
		{"negative owner", layer(t, ent{Header: tar.Header{Name: "f", Typeflag: tar.TypeReg, Uid: -5}})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, root := sandbox(t)
			if _, err := Apply(root, bytes.NewReader(tt.data), Options{}); err == nil {
				t.Error("Apply succeeded, want an error")
			}
		})
	}
}

// userXattrs reports whether dir's filesystem takes user.* xattrs (tmpfs
// does only since Linux 6.6; Apply skips what the filesystem refuses).
func userXattrs(t *testing.T, dir string) bool {
	p := filepath.Join(dir, ".xattr-probe")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(p)
	err := unix.Setxattr(p, "user.probe", []byte("1"), 0)
	if err != nil {
		t.Logf("user.* xattrs not supported here (%v): not checking user.note", err)
	}
	return err == nil
}
