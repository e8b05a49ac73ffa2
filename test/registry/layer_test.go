package registry

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/types"
)

// readTar returns the headers and contents of an archive, keeping names
// that archive/tar calls insecure.
func readTar(t *testing.T, data []byte) ([]*tar.Header, map[string]string) {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(data))
	var hdrs []*tar.Header
	content := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		hdrs = append(hdrs, h)
		content[h.Name] = string(b)
	}
	return hdrs, content
}

func TestTar(t *testing.T) {
	entries := []Entry{
		Dir("etc/", 0),
		File("etc/motd", "hi\n", 0),
		File("bin/tool", "#!/bin/sh\n", 0o755),
		Dir("tmp/", 0o1777),
		Symlink("bin/sh", "busybox"),
		Hardlink("etc/motd2", "etc/motd"),
		File("../../escape", "x", 0),
		File("/abs/path", "y", 0),
		Whiteout("data/a"),
		Opaque("opt/"),
	}
	data, err := Tar(entries)
	if err != nil {
		t.Fatal(err)
	}
	hdrs, content := readTar(t, data)
	want := []struct {
		name     string
		typ      byte
		mode     int64
		linkname string
	}{
		{"etc/", tar.TypeDir, 0o755, ""},
		{"etc/motd", tar.TypeReg, 0o644, ""},
		{"bin/tool", tar.TypeReg, 0o755, ""},
		{"tmp/", tar.TypeDir, 0o1777, ""},
		{"bin/sh", tar.TypeSymlink, 0o777, "busybox"},
		{"etc/motd2", tar.TypeLink, 0o644, "etc/motd"},
		{"../../escape", tar.TypeReg, 0o644, ""},
		{"/abs/path", tar.TypeReg, 0o644, ""},
		{"data/.wh.a", tar.TypeReg, 0o644, ""},
		{"opt/.wh..wh..opq", tar.TypeReg, 0o644, ""},
	}
	if len(hdrs) != len(want) {
		t.Fatalf("got %d entries, want %d", len(hdrs), len(want))
	}
	for i, w := range want {
		h := hdrs[i]
		if h.Name != w.name || h.Typeflag != w.typ || h.Mode != w.mode || h.Linkname != w.linkname {
			t.Errorf("entry %d: got %q type %q mode %o link %q, want %q type %q mode %o link %q",
				i, h.Name, h.Typeflag, h.Mode, h.Linkname, w.name, w.typ, w.mode, w.linkname)
		}
		if h.Uid != 0 || h.Gid != 0 || !h.ModTime.Equal(epoch) {
			t.Errorf("entry %q: uid %d gid %d mtime %v, want root and %v", h.Name, h.Uid, h.Gid, h.ModTime, epoch)
		}
	}
	if content["etc/motd"] != "hi\n" || content["../../escape"] != "x" {
		t.Errorf("contents: %q", content)
	}
}

func TestTarRejectsUnknownType(t *testing.T) {
	if _, err := Tar([]Entry{{Name: "dev/null", Type: tar.TypeChar}}); err == nil {
		t.Error("a character device was accepted")
	}
}

// TestLayerReproducible: equal entries make equal digests, so pushing the
// same image twice is a no-op for the registry.
func TestLayerReproducible(t *testing.T) {
	var digests []string
	for range 2 {
		l, err := Layer(types.OCILayer, File("a", "1", 0), Dir("d/", 0))
		if err != nil {
			t.Fatal(err)
		}
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		mt, err := l.MediaType()
		if err != nil || mt != types.OCILayer {
			t.Errorf("media type %q, %v", mt, err)
		}
		digests = append(digests, d.String())
	}
	if digests[0] != digests[1] {
		t.Errorf("digests differ: %v", digests)
	}
}

func TestBusyboxEntries(t *testing.T) {
	if _, err := os.Stat(Busybox); err != nil {
		t.Skip("apt install busybox-static")
	}
	probe := filepath.Join(t.TempDir(), "probe")
	os.WriteFile(probe, []byte("not really a probe"), 0o755)
	entries, err := BusyboxEntries(probe)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Entry{}
	for _, e := range entries {
		byName[e.Name] = e
	}
	if e := byName["bin/busybox"]; e.Mode != 0o755 || len(e.Content) == 0 {
		t.Errorf("bin/busybox: mode %o, %d bytes", e.Mode, len(e.Content))
	}
	if e := byName["bin/sh"]; e.Type != tar.TypeSymlink || e.Linkname != "busybox" {
		t.Errorf("bin/sh: %+v", e)
	}
	if e := byName["tmp/"]; e.Mode != 0o1777 {
		t.Errorf("tmp/: mode %o", e.Mode)
	}
	if e := byName["probe"]; string(e.Content) != "not really a probe" || e.Mode != 0o755 {
		t.Errorf("probe: %+v", e)
	}
	if _, ok := byName["etc/passwd"]; !ok {
		t.Error("no etc/passwd")
	}
}

func TestTrapSprung(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	os.WriteFile(target, []byte(original), 0o644)
	tr := &Trap{Kind: "test", Dir: dir}
	if s := tr.Sprung(); s != "" {
		t.Fatalf("a fresh trap is sprung: %s", s)
	}
	os.WriteFile(filepath.Join(dir, "pwned"), nil, 0o644)
	if tr.Sprung() == "" {
		t.Error("a new file in the trap's directory went unnoticed")
	}
	os.Remove(filepath.Join(dir, "pwned"))
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Link(target, link); err == nil {
		if tr.Sprung() == "" {
			t.Error("a hardlink to the target went unnoticed")
		}
		os.Remove(link)
	}
	os.WriteFile(target, []byte("pwned\n"), 0o644)
	if tr.Sprung() == "" {
		t.Error("a changed target went unnoticed")
	}
}
