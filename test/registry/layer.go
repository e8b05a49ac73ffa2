package registry

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Entry is one member of a layer tar, written exactly as given: names are
// not cleaned, so a test can write "../x" or "/x" on purpose.
type Entry struct {
	// Name is the path in the layer, normally without a leading slash
	// ("bin/sh"); a directory may end in "/".
	Name string
	// Type is tar.TypeReg (the zero value means the same), tar.TypeDir,
	// tar.TypeSymlink or tar.TypeLink.
	Type byte
	// Mode is the permission bits (and setuid, setgid, sticky); 0 means
	// 0644 for a file, 0755 for a directory, 0777 for a symlink.
	Mode int64
	// Content is a regular file's data.
	Content []byte
	// Linkname is a symlink's target or a hardlink's existing member.
	Linkname string
}

// File is a regular file with the given content and mode (0 for 0644).
func File(name, content string, mode int64) Entry {
	return Entry{Name: name, Type: tar.TypeReg, Mode: mode, Content: []byte(content)}
}

// Dir is a directory (mode 0 for 0755).
func Dir(name string, mode int64) Entry {
	return Entry{Name: name, Type: tar.TypeDir, Mode: mode}
}

// Symlink is a symbolic link name -> target.
func Symlink(name, target string) Entry {
	return Entry{Name: name, Type: tar.TypeSymlink, Linkname: target}
}

// Hardlink is a hard link name to the member target.
func Hardlink(name, target string) Entry {
	return Entry{Name: name, Type: tar.TypeLink, Linkname: target}
}

// Whiteout is the OCI whiteout that deletes path in the layers below:
// "dir/.wh.name".
func Whiteout(path string) Entry {
	dir, base := "", path
	if i := strings.LastIndex(path, "/"); i >= 0 {
		dir, base = path[:i+1], path[i+1:]
	}
	return File(dir+".wh."+base, "", 0o644)
}

// Opaque marks dir opaque: the layers below contribute nothing to it.
func Opaque(dir string) Entry {
	return File(strings.TrimSuffix(dir, "/")+"/.wh..wh..opq", "", 0o644)
}

// epoch is every entry's modification time, so equal entries make equal
// layers (and digests).
var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// Tar writes entries, in order, as an uncompressed tar archive owned by
// root.
func Tar(entries []Entry) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{
			Name: e.Name, Linkname: e.Linkname, Typeflag: e.Type, Mode: e.Mode,
			ModTime: epoch, Uname: "root", Gname: "root",
		}
		switch e.Type {
		case tar.TypeReg, tar.TypeRegA:
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(e.Content))
			if h.Mode == 0 {
				h.Mode = 0o644
			}
		case tar.TypeDir:
			if h.Mode == 0 {
				h.Mode = 0o755
			}
		case tar.TypeSymlink:
			if h.Mode == 0 {
				h.Mode = 0o777
			}
		case tar.TypeLink:
			if h.Mode == 0 {
				h.Mode = 0o644
			}
		default:
			return nil, fmt.Errorf("tar entry %q: unsupported type %q", e.Name, e.Type)
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("tar entry %q: %w", e.Name, err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(e.Content); err != nil {
				return nil, fmt.Errorf("tar entry %q: %w", e.Name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Layer makes a gzip-compressed layer of entries with media type mt
// (types.DockerLayer or types.OCILayer).
func Layer(mt types.MediaType, entries ...Entry) (v1.Layer, error) {
	data, err := Tar(entries)
	if err != nil {
		return nil, err
	}
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(mt))
}

// Busybox is the path of the host's static busybox (apt install
// busybox-static).
const Busybox = "/bin/busybox"

// BusyboxEntries is a small root filesystem: the host's busybox at
// /bin/busybox and a symlink per applet, /etc/passwd and /etc/group (root,
// user 1000, nobody), /tmp with mode 1777, empty /dev, /proc, /sys, /root,
// /home/user, and the probe at /probe when probe is not "".
func BusyboxEntries(probe string) ([]Entry, error) {
	bb, err := os.ReadFile(Busybox)
	if err != nil {
		return nil, fmt.Errorf("reading busybox (apt install busybox-static): %w", err)
	}
	out, err := exec.Command(Busybox, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("listing busybox applets: %w", err)
	}
	entries := []Entry{
		Dir("bin/", 0), Dir("dev/", 0), Dir("etc/", 0), Dir("home/", 0), Dir("home/user/", 0),
		Dir("proc/", 0), Dir("root/", 0o700), Dir("sys/", 0), Dir("tmp/", 0o1777),
		Dir("usr/", 0), Dir("usr/bin/", 0), Dir("var/", 0),
		{Name: "bin/busybox", Type: tar.TypeReg, Mode: 0o755, Content: bb},
		File("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n", 0),
		File("etc/group", "root:x:0:\nuser:x:1000:\nnogroup:x:65534:\n", 0),
	}
	for _, applet := range strings.Fields(string(out)) {
		if applet != "busybox" {
			entries = append(entries, Symlink("bin/"+applet, "busybox"))
		}
	}
	if probe != "" {
		p, err := os.ReadFile(probe)
		if err != nil {
			return nil, fmt.Errorf("reading the probe: %w", err)
		}
		entries = append(entries, Entry{Name: "probe", Type: tar.TypeReg, Mode: 0o755, Content: p})
	}
	return entries, nil
}
