package engine

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestResolveUser(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001:app:/home/app:/bin/sh\n"), 0o644)
	os.WriteFile(filepath.Join(root, "etc/group"), []byte("root:x:0:\napp:x:1001:\nwheel:x:10:app,other\naudio:x:29:app\n"), 0o644)
	for _, tc := range []struct {
		spec     string
		uid, gid uint32
		extra    []uint32
		home     string
		wantErr  bool
	}{
		{"", 0, 0, nil, "/root", false},
		{"app", 1000, 1001, []uint32{10, 29}, "/home/app", false},
		{"1000", 1000, 1001, []uint32{10, 29}, "/home/app", false},
		{"app:wheel", 1000, 10, nil, "/home/app", false},
		{"4242:4343", 4242, 4343, nil, "/", false},
		{"nobody", 0, 0, nil, "", true},
		{"app:nogroup", 0, 0, nil, "", true},
	} {
		u, err := resolveUser(root, tc.spec)
		if tc.wantErr {
			if err == nil {
				t.Errorf("%q: want an error", tc.spec)
			}
			continue
		}
		if err != nil || u.UID != tc.uid || u.GID != tc.gid || !reflect.DeepEqual(u.AdditionalGids, tc.extra) || u.home != tc.home {
			t.Errorf("%q = %+v %q, %v; want %d:%d %v %q", tc.spec, u.User, u.home, err, tc.uid, tc.gid, tc.extra, tc.home)
		}
	}
}

// A symlinked /etc/passwd in an image is resolved inside the rootfs, never
// on the host.
func TestResolveUserSymlinkStaysInside(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.Symlink("/etc/passwd", filepath.Join(root, "etc/passwd")) // the host's, if followed
	if _, err := resolveUser(root, "root"); err == nil {
		t.Error("user root found through a symlink to the host's /etc/passwd")
	}
}
