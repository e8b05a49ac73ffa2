package rootfs

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestForceCopy checks that the copy fallback gives the tree an overlay
// mount of the same layers shows, keeps the container's changes across
// Unmount and Mount, and is removed by Remove.
func TestForceCopy(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	lowers := threeLayers(t, filepath.Join(dir, "layers"))
	overlay := filepath.Join(dir, "overlay")
	mount(t, lowers, filepath.Join(dir, "u1"), filepath.Join(dir, "w1"), overlay, Options{})

	copied := filepath.Join(dir, "copy")
	mount(t, lowers, filepath.Join(dir, "u2"), filepath.Join(dir, "w2"), copied, Options{ForceCopy: true})
	if m, _ := Mounted(copied); m {
		t.Error("a copied rootfs is a mount")
	}
	if c, err := Copied(copied); err != nil || !c {
		t.Errorf("Copied = %v, %v", c, err)
	}
	if c, _ := Copied(overlay); c {
		t.Error("Copied is true for an overlay")
	}
	checkMerged(t, copied)
	if err := diffTrees(tree(t, overlay), tree(t, copied)); err != nil {
		t.Errorf("copy differs from overlay:\n%v", err)
	}

	// The container's changes survive a restart; nothing is copied again.
	os.WriteFile(filepath.Join(copied, "etc/state"), []byte("s"), 0o644)
	if err := Unmount(copied); err != nil {
		t.Fatal(err)
	}
	if err := Mount(lowers, filepath.Join(dir, "u2"), filepath.Join(dir, "w2"), copied, Options{ForceCopy: true}); err != nil {
		t.Fatal(err)
	}
	if !exists(filepath.Join(copied, "etc/state")) {
		t.Error("the container's file is gone after Mount again")
	}
	// Other layers on the same copy are refused.
	if err := Mount(lowers[:1], filepath.Join(dir, "u2"), filepath.Join(dir, "w2"), copied, Options{ForceCopy: true}); err == nil {
		t.Error("Mount of other layers on a copied rootfs succeeded")
	}
	if err := Remove(copied); err != nil {
		t.Fatal(err)
	}
	if exists(copied) || exists(recordPath(copied)) {
		t.Error("Remove left the copy or its record")
	}
	for _, l := range lowers {
		if !exists(l) {
			t.Errorf("layer %s removed", l)
		}
	}
}

func TestForceCopyReadOnly(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	lowers := threeLayers(t, filepath.Join(dir, "layers"))
	target := filepath.Join(dir, "copy")
	mount(t, lowers, "", "", target, Options{ForceCopy: true, ReadOnly: true})
	checkMerged(t, target)
	if err := os.WriteFile(filepath.Join(target, "x"), nil, 0o644); !errors.Is(err, unix.EROFS) {
		t.Errorf("writing in a read-only copy: %v, want EROFS", err)
	}
	if err := Unmount(target); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(target, "x"), nil, 0o644); err != nil {
		t.Errorf("after Unmount the copy is a plain directory again: %v", err)
	}
}

func TestForceCopyNonEmptyTarget(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	lower := mkLayer(t, filepath.Join(dir, "l"), f("a", "a"))
	target := filepath.Join(dir, "rootfs")
	os.MkdirAll(target, 0o755)
	os.WriteFile(filepath.Join(target, "mine"), nil, 0o644)
	err := Mount([]string{lower}, filepath.Join(dir, "u"), filepath.Join(dir, "w"), target, Options{ForceCopy: true})
	if err == nil {
		t.Fatal("copy into a non-empty target succeeded")
	}
	if !exists(filepath.Join(target, "mine")) {
		t.Error("the target's own file was removed")
	}
}
