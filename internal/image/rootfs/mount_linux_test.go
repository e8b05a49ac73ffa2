package rootfs

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// threeLayers makes bottom, middle and top layers under dir:
//
//	bottom: etc/passwd, etc/hosts, bin/sh, var/cache/old, lib -> usr/lib
//	middle: bin/sh replaced, usr/lib/libc.so
//	top:    whiteout of etc/passwd, var/cache opaque with var/cache/new
func threeLayers(t testing.TB, dir string) []string {
	return []string{
		mkLayer(t, filepath.Join(dir, "bottom"), d("etc/"), f("etc/passwd", "root:x:0:0"), f("etc/hosts", "127.0.0.1"),
			d("bin/"), f("bin/sh", "old shell"), d("var/"), d("var/cache/"), f("var/cache/old", "o"), s("lib", "usr/lib")),
		mkLayer(t, filepath.Join(dir, "middle"), d("bin/"), f("bin/sh", "new shell"), d("usr/"), d("usr/lib/"), f("usr/lib/libc.so", "c")),
		mkLayer(t, filepath.Join(dir, "top"), d("etc/"), f("etc/.wh.passwd", ""), d("var/"), d("var/cache/"),
			f("var/cache/.wh..wh..opq", ""), f("var/cache/new", "n")),
	}
}

// checkMerged checks the view of threeLayers.
func checkMerged(t *testing.T, root string) {
	t.Helper()
	if exists(filepath.Join(root, "etc/passwd")) {
		t.Error("etc/passwd visible through the top layer's whiteout")
	}
	if got := read(t, filepath.Join(root, "etc/hosts")); got != "127.0.0.1" {
		t.Errorf("etc/hosts = %q", got)
	}
	if got := read(t, filepath.Join(root, "bin/sh")); got != "new shell" {
		t.Errorf("bin/sh = %q, want the middle layer's", got)
	}
	if got := read(t, filepath.Join(root, "lib/libc.so")); got != "c" {
		t.Errorf("lib/libc.so = %q", got)
	}
	es, err := os.ReadDir(filepath.Join(root, "var/cache"))
	if err != nil || len(es) != 1 || es[0].Name() != "new" {
		t.Errorf("var/cache holds %v (%v), want only new (opaque)", es, err)
	}
}

func TestMountOverlay(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	lowers := threeLayers(t, filepath.Join(dir, "layers"))
	before := make([]map[string]node, len(lowers))
	for i, l := range lowers {
		before[i] = tree(t, l)
	}
	upper, work, target := filepath.Join(dir, "upper"), filepath.Join(dir, "work"), filepath.Join(dir, "rootfs")
	mount(t, lowers, upper, work, target, Options{})

	if m, err := Mounted(target); err != nil || !m {
		t.Fatalf("Mounted = %v, %v", m, err)
	}
	checkMerged(t, target)

	// Writes go to upper.
	if err := os.WriteFile(filepath.Join(target, "etc/new"), []byte("w"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(target, "bin/sh"), []byte("patched"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(target, "etc/hosts")); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(upper, "etc/new")); got != "w" {
		t.Errorf("upper/etc/new = %q", got)
	}
	if got := read(t, filepath.Join(upper, "bin/sh")); got != "patched" {
		t.Errorf("upper/bin/sh = %q", got)
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(upper, "etc/hosts"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Errorf("upper/etc/hosts is not a whiteout: %v", err)
	}
	for i, l := range lowers {
		if err := diffTrees(before[i], tree(t, l)); err != nil {
			t.Errorf("layer %s changed:\n%v", l, err)
		}
	}

	// A second mount on the same target is refused.
	if err := Mount(lowers, upper, work, target, Options{}); !errors.Is(err, ErrMounted) {
		t.Errorf("second Mount = %v, want %v", err, ErrMounted)
	}
}

func TestMountReadOnly(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	lowers := threeLayers(t, filepath.Join(dir, "layers"))
	for _, tt := range []struct {
		name   string
		lowers []string
	}{
		{"three layers", lowers},
		{"one layer (bind)", lowers[:1]},
	} {
		t.Run(tt.name, func(t *testing.T) {
			target := filepath.Join(t.TempDir(), "rootfs")
			mount(t, tt.lowers, "", "", target, Options{ReadOnly: true})
			if len(tt.lowers) == 3 {
				checkMerged(t, target)
			}
			err := os.WriteFile(filepath.Join(target, "x"), nil, 0o644)
			if !errors.Is(err, unix.EROFS) {
				t.Errorf("writing in a read-only rootfs: %v, want EROFS", err)
			}
		})
	}
}

// TestMountSingleLower is the --rootfs DIR case: the user's directory is the
// only lowerdir and must not change.
func TestMountSingleLower(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	user := filepath.Join(dir, "user-rootfs")
	for _, p := range []string{"bin", "etc"} {
		os.MkdirAll(filepath.Join(user, p), 0o755)
	}
	os.WriteFile(filepath.Join(user, "etc/hostname"), []byte("mine"), 0o644)
	before := tree(t, user)

	target := filepath.Join(dir, "rootfs")
	mount(t, []string{user}, filepath.Join(dir, "upper"), filepath.Join(dir, "work"), target, Options{})
	if got := read(t, filepath.Join(target, "etc/hostname")); got != "mine" {
		t.Errorf("etc/hostname = %q", got)
	}
	os.WriteFile(filepath.Join(target, "etc/hostname"), []byte("changed"), 0o644)
	os.WriteFile(filepath.Join(target, "bin/new"), []byte("n"), 0o755)
	os.Remove(filepath.Join(target, "bin"))
	if err := diffTrees(before, tree(t, user)); err != nil {
		t.Errorf("the user's directory changed:\n%v", err)
	}
}

func TestMountErrors(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	lower := mkLayer(t, filepath.Join(dir, "l"), f("a", "a"))
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	tests := []struct {
		name   string
		lowers []string
		upper  string
		want   string
	}{
		{"no layers", nil, "u", "no layers"},
		{"missing layer", []string{filepath.Join(dir, "missing")}, "u", "no such file"},
		{"layer is a file", []string{file}, "u", "not a directory"},
		{"no upper", []string{lower}, "", "needs an upper"},
		// procfs cannot be an overlayfs layer; the kernel's reason is
		// read back from the filesystem context.
		{"layer on an unsupported filesystem", []string{"/proc/sys"}, "u", "layer /proc/sys is on procfs"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := filepath.Join(dir, fmt.Sprint("t", i))
			upper := tt.upper
			if upper != "" {
				upper = filepath.Join(dir, fmt.Sprint("u", i))
			}
			t.Cleanup(func() { Unmount(target) })
			err := Mount(tt.lowers, upper, filepath.Join(dir, fmt.Sprint("w", i)), target, Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
			t.Log(err)
		})
	}
}

func TestUnmountIdempotent(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	lower := mkLayer(t, filepath.Join(dir, "l"), f("a", "a"))
	target := filepath.Join(dir, "rootfs")
	if err := Unmount(filepath.Join(dir, "missing")); err != nil {
		t.Errorf("Unmount of a missing path: %v", err)
	}
	os.Mkdir(target, 0o755)
	if err := Unmount(target); err != nil {
		t.Errorf("Unmount of a plain directory: %v", err)
	}
	mount(t, []string{lower}, filepath.Join(dir, "u"), filepath.Join(dir, "w"), target, Options{})
	for i := range 3 {
		if err := Unmount(target); err != nil {
			t.Errorf("Unmount #%d: %v", i+1, err)
		}
	}
	if m, err := Mounted(target); err != nil || m {
		t.Errorf("Mounted after Unmount = %v, %v", m, err)
	}
	if exists(filepath.Join(target, "a")) {
		t.Error("layer content still visible")
	}
}

func TestRemove(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	lower := mkLayer(t, filepath.Join(dir, "l"), f("a", "a"))
	target := filepath.Join(dir, "rootfs")
	mount(t, []string{lower}, filepath.Join(dir, "u"), filepath.Join(dir, "w"), target, Options{})

	// A mount below the target blocks Remove, which must delete nothing.
	sub := filepath.Join(dir, "host")
	os.Mkdir(sub, 0o755)
	os.WriteFile(filepath.Join(sub, "precious"), []byte("p"), 0o644)
	inner := filepath.Join(target, "mnt")
	os.Mkdir(inner, 0o755)
	if err := unix.Mount(sub, inner, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Unmount(inner) })
	if err := Remove(target); err == nil {
		t.Error("Remove succeeded with a mount inside the target")
	}
	if !exists(filepath.Join(sub, "precious")) || !exists(filepath.Join(lower, "a")) {
		t.Fatal("Remove deleted through a mount")
	}
	if err := Unmount(inner); err != nil {
		t.Fatal(err)
	}
	if err := Remove(target); err != nil {
		t.Fatal(err)
	}
	if exists(target) || !exists(filepath.Join(lower, "a")) {
		t.Error("Remove left the target or removed the layer's files")
	}
}

func TestProbe(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	probes.Clear()
	ok, err := overlayWorks(dir, slog.New(slog.DiscardHandler))
	if err != nil || !ok {
		t.Fatalf("overlayWorks(%s) = %v, %v; want true on this test machine", dir, ok, err)
	}
	es, _ := os.ReadDir(dir)
	if len(es) != 0 {
		t.Errorf("probe left %v behind", es)
	}
}
