package image

import (
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestOpenMarksLayersTopDir checks that Open sets chattr +T on l/ where the filesystem is ext2/3/4
// (see markTopDir), and that opening again keeps it.
func TestOpenMarksLayersTopDir(t *testing.T) {
	root := t.TempDir()
	var fs unix.Statfs_t
	if err := unix.Statfs(root, &fs); err != nil {
		t.Fatal(err)
	}
	if fs.Type != unix.EXT4_SUPER_MAGIC {
		t.Skipf("%s is not on ext2/3/4 (filesystem magic %#x)", root, fs.Type)
	}
	for range 2 {
		if _, err := Open(root, nil); err != nil {
			t.Fatal(err)
		}
		fd, err := unix.Open(filepath.Join(root, "l"), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		flags, err := unix.IoctlGetUint32(fd, unix.FS_IOC_GETFLAGS)
		unix.Close(fd)
		if err != nil {
			t.Fatal(err)
		}
		if flags&fsTopdirFL == 0 {
			t.Errorf("l/ flags %#x, want FS_TOPDIR_FL (%#x)", flags, fsTopdirFL)
		}
	}
}
