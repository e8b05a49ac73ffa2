package rootfs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// manyLayers makes n layers whose paths are long enough that their
// lowerdir list is far past mount(2)'s one-page options limit.
func manyLayers(t *testing.T, n int) []string {
	dir := filepath.Join(t.TempDir(), strings.Repeat("long-directory-name-", 3))
	var lowers []string
	for i := range n {
		name := fmt.Sprintf("sha256-%064x", i) // like a layer digest
		lowers = append(lowers, mkLayer(t, filepath.Join(dir, name, "fs"), f(fmt.Sprintf("layer%02d", i), "x"), f("top", fmt.Sprint(i))))
	}
	return lowers
}

func TestMountManyLayers(t *testing.T) {
	needRoot(t)
	lowers := manyLayers(t, 60)
	if n := len(legacyOptions(lowers, "", "")); n < pageSize {
		t.Fatalf("test layers need only %d bytes of options; make the paths longer", n)
	}
	dir := t.TempDir()
	target := filepath.Join(dir, "rootfs")
	if err := Mount(lowers, filepath.Join(dir, "u"), filepath.Join(dir, "w"), target, Options{}); err != nil {
		if strings.Contains(err.Error(), "fsconfig lowerdir+ cannot be used") {
			t.Skipf("this kernel has no lowerdir+ (Linux 6.8): %v", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { Unmount(target) })
	for i := range lowers {
		if !exists(filepath.Join(target, fmt.Sprintf("layer%02d", i))) {
			t.Errorf("layer%02d missing", i)
		}
	}
	if got := read(t, filepath.Join(target, "top")); got != "59" {
		t.Errorf("top = %q, want the last layer's (59)", got)
	}

	t.Run("read-only", func(t *testing.T) {
		target := filepath.Join(t.TempDir(), "rootfs")
		mount(t, lowers, "", "", target, Options{ReadOnly: true})
		if got := read(t, filepath.Join(target, "top")); got != "59" {
			t.Errorf("top = %q, want 59", got)
		}
	})
}

// TestLegacyMount exercises the mount(2) fallback used on kernels without
// fsconfig lowerdir+: option escaping and the clear error past one page.
func TestLegacyMount(t *testing.T) {
	needRoot(t)
	forceLegacy = true
	t.Cleanup(func() { forceLegacy = false })

	dir := filepath.Join(t.TempDir(), "odd:name,with\\chars")
	lowers := threeLayers(t, filepath.Join(dir, "layers"))
	target := filepath.Join(dir, "rootfs")
	mount(t, lowers, filepath.Join(dir, "upper"), filepath.Join(dir, "work"), target, Options{})
	checkMerged(t, target)
	if err := os.WriteFile(filepath.Join(target, "w"), []byte("w"), 0o644); err != nil {
		t.Fatal(err)
	}
	if !exists(filepath.Join(dir, "upper", "w")) {
		t.Error("write did not reach the upper directory")
	}

	many := manyLayers(t, 60)
	err := Mount(many, filepath.Join(dir, "u2"), filepath.Join(dir, "w2"), filepath.Join(dir, "t2"), Options{})
	if err == nil {
		Unmount(filepath.Join(dir, "t2"))
		t.Fatal("mount(2) with options past one page succeeded")
	}
	if !strings.Contains(err.Error(), "limit") {
		t.Errorf("error %q does not explain the limit", err)
	}
	t.Log(err)
}
