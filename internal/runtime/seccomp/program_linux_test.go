//go:build linux && cgo

package seccomp

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// Build stores a program once and reads it back; a damaged cache file is
// rebuilt, and another profile gets another file.
func TestBuildCache(t *testing.T) {
	dir := t.TempDir()
	first, err := Build(DefaultProfile(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if first.Flags&unix.SECCOMP_FILTER_FLAG_TSYNC == 0 || first.Notify {
		t.Errorf("flags %#x notify %v, want TSYNC and no listener", first.Flags, first.Notify)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) != 1 {
		t.Fatalf("cache holds %v, want one program", files)
	}
	again, err := Build(DefaultProfile(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.BPF, again.BPF) || first.Flags != again.Flags {
		t.Error("the cached program differs from the built one")
	}
	if err := os.WriteFile(files[0], []byte(`{"bpf":"AAAA"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	rebuilt, err := Build(DefaultProfile(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.BPF, rebuilt.BPF) {
		t.Error("a damaged cache file was used")
	}
	if _, err := Build(denyMkdir, dir, nil); err != nil {
		t.Fatal(err)
	}
	if files, _ = filepath.Glob(filepath.Join(dir, "*.json")); len(files) != 2 {
		t.Errorf("cache holds %v, want two programs", files)
	}
}
