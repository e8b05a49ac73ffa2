package nooktest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Rootfs describes a tiny root filesystem for runtime tests.
type Rootfs struct {
	Busybox string            // the host's static busybox
	Probe   string            // copied to /probe
	Dirs    []string          // made empty (mount points, homes)
	Files   map[string]string // path (relative) → content, mode 0644
}

// Make builds r in dir: busybox and a symlink per applet in /bin, the
// probe, the directories, /tmp with mode 1777, the files.
func (r Rootfs) Make(dir string) error {
	for _, d := range append([]string{"bin", "etc", "proc", "sys", "dev", "tmp", "root"}, r.Dirs...) {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := CopyFile(r.Busybox, filepath.Join(dir, "bin/busybox"), 0o755); err != nil {
		return fmt.Errorf("copying busybox (apt-get install busybox-static): %w", err)
	}
	if err := CopyFile(r.Probe, filepath.Join(dir, "probe"), 0o755); err != nil {
		return err
	}
	out, err := exec.Command(r.Busybox, "--list").Output()
	if err != nil {
		return err
	}
	for _, applet := range strings.Fields(string(out)) {
		if applet != "busybox" {
			os.Symlink("busybox", filepath.Join(dir, "bin", applet))
		}
	}
	os.Chmod(filepath.Join(dir, "tmp"), 0o1777)
	for name, content := range r.Files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// CopyFile copies src to dst with mode.
func CopyFile(src, dst string, mode os.FileMode) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, mode)
}

// GrepLines returns the lines of s that contain substr.
func GrepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// CgroupDirs lists where the default cgroup of container id would be, on
// v1 and v2.
func CgroupDirs(id string) []string {
	dirs := []string{filepath.Join("/sys/fs/cgroup/nook", id)}
	for _, c := range []string{"memory", "pids", "cpu", "cpuset", "blkio", "devices", "freezer"} {
		dirs = append(dirs, filepath.Join("/sys/fs/cgroup", c, "nook", id))
	}
	return dirs
}

// Cgroup2 reports whether the host runs the unified hierarchy.
func Cgroup2() bool {
	_, err := os.Stat("/sys/fs/cgroup/cgroup.controllers")
	return err == nil
}
