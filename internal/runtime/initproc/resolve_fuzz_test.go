package initproc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzOpenDest resolves arbitrary mount destinations in a rootfs planted
// with hostile symlinks (absolute, relative, looping, dangling, pointing
// at the host's /etc) and checks that whatever openDest opens or creates is
// inside the rootfs: a symlink in an image must never lead a mount to the
// host. It needs no root.
func FuzzOpenDest(f *testing.F) {
	for _, seed := range []string{
		"/etc", "/evil", "/evil/passwd", "/up/x", "/loop/a", "/dangling/x", "/../../../etc",
		"/a/../../evil/x", "/proc/self/root/etc", "//evil//", "/new/dir/deep", "/rel/x",
	} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	f.Fuzz(func(t *testing.T, dest string, file bool) {
		if !strings.HasPrefix(dest, "/") || strings.ContainsRune(dest, 0) || len(dest) > 256 {
			return
		}
		base := t.TempDir()
		root := filepath.Join(base, "rootfs")
		host := filepath.Join(base, "host")
		for _, d := range []string{root + "/etc", root + "/a", host} {
			os.MkdirAll(d, 0o755)
		}
		os.Symlink("/etc", filepath.Join(root, "evil"))
		os.Symlink(host, filepath.Join(root, "hostdir"))
		os.Symlink("../../../../../../..", filepath.Join(root, "up"))
		os.Symlink("loop", filepath.Join(root, "loop"))
		os.Symlink(filepath.Join(host, "missing"), filepath.Join(root, "dangling"))
		os.Symlink("../a", filepath.Join(root, "rel"))
		rootF, err := os.Open(root)
		if err != nil {
			t.Fatal(err)
		}
		defer rootF.Close()
		h, err := openDest(rootF, dest, file)
		if err != nil {
			return // refusing is always safe
		}
		defer h.Close()
		got, err := os.Readlink(procPath(h))
		if err != nil {
			t.Fatal(err)
		}
		if got != root && !strings.HasPrefix(got, root+"/") {
			t.Fatalf("openDest(%q) resolved to %q, outside the rootfs %q", dest, got, root)
		}
		if entries, _ := os.ReadDir(host); len(entries) > 0 {
			t.Fatalf("openDest(%q) created %s on the host", dest, entries[0].Name())
		}
	})
}
