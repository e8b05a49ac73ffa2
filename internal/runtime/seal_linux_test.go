package runtime

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// Both ways of sealing give the running binary's bytes through a file that
// refuses writes, even from root.
func TestSealedSelf(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root: overlayfs mounts")
	}
	want, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Readlink("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	for name, seal := range map[string]func() (*os.File, error){
		"overlay": func() (*os.File, error) { return overlayOf(self, t.TempDir()) },
		"memfd":   func() (*os.File, error) { return memfdOf("/proc/self/exe") },
		"default": func() (*os.File, error) { return sealedBinary("", t.TempDir()) },
	} {
		t.Run(name, func(t *testing.T) {
			f, err := seal()
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			path := "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s: %d bytes, not the binary's %d", name, len(got), len(want))
			}
			// The overlay refuses the open (EROFS); a sealed memfd opens
			// but refuses the write (EPERM).
			w, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err == nil {
				_, err = w.WriteAt([]byte{0}, 0)
				w.Close()
			}
			if !errors.Is(err, unix.EROFS) && !errors.Is(err, unix.EPERM) {
				t.Errorf("writing %s: %v, want EROFS or EPERM", name, err)
			}
		})
	}
}
