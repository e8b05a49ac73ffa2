package image

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// busyboxPath is the host's statically linked busybox (Debian's busybox-static).
var busyboxPath = "/bin/busybox"

// EnsureDefault returns the built-in image DefaultImage, building it offline from the host's
// busybox the first time: one layer with /bin/busybox and a symlink per applet, /etc/passwd and
// /etc/group with root and nobody, /tmp, /root and mount points /proc, /sys, /dev.
func (s *Store) EnsureDefault() (*Image, error) {
	if img, err := s.get(DefaultImage); err == nil {
		return img, nil
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	fi, err := os.Stat(busyboxPath)
	if err != nil {
		return nil, fmt.Errorf("built-in image needs busybox-static (apt install busybox-static): %w", err)
	}
	out, err := exec.Command(busyboxPath, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("built-in image needs busybox-static (apt install busybox-static): listing applets: %w", err)
	}
	applets := strings.Fields(string(out))
	// The busybox binary's mtime as the image date makes the image, and so its ID, reproducible.
	mtime := fi.ModTime().UTC().Truncate(time.Second)
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeBusyboxTar(pw, applets, fi.Size(), mtime)) }()
	s.cleanTemps()
	layer, err := s.ingestTar(pr)
	pr.CloseWithError(err)
	if err != nil {
		return nil, fmt.Errorf("building built-in image: %w", err)
	}
	diffID, _ := parseDigest(layer.DiffID)
	cfg := v1.ConfigFile{
		Architecture: runtime.GOARCH,
		OS:           "linux",
		Created:      v1.Time{Time: mtime},
		Config: v1.Config{
			Cmd: []string{"sh"},
			Env: []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"},
		},
		RootFS:  v1.RootFS{Type: "layers", DiffIDs: []v1.Hash{diffID}},
		History: []v1.History{{Created: v1.Time{Time: mtime}, CreatedBy: "nook: built-in busybox image from " + busyboxPath}},
	}
	rawConfig, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("encoding image config: %w", err)
	}
	r, _ := ParseReference(DefaultImage)
	img, err := s.storeBuilt(rawConfig, []layerRef{layer}, []string{r.String()})
	if err != nil {
		return nil, fmt.Errorf("building built-in image: %w", err)
	}
	s.log.Debug("built the built-in image", "id", img.ID, "applets", len(applets))
	return img, nil
}

func writeBusyboxTar(w io.Writer, applets []string, size int64, mtime time.Time) error {
	tw := tar.NewWriter(w)
	hdr := func(h *tar.Header) error {
		h.ModTime, h.Format = mtime, tar.FormatPAX
		return tw.WriteHeader(h)
	}
	for _, d := range []struct {
		name string
		mode int64
	}{{"bin/", 0o755}, {"dev/", 0o755}, {"etc/", 0o755}, {"proc/", 0o555}, {"root/", 0o700},
		{"sys/", 0o555}, {"tmp/", 0o1777}, {"usr/", 0o755}, {"usr/bin/", 0o755}, {"usr/sbin/", 0o755},
		{"sbin/", 0o755}, {"var/", 0o755}} {
		if err := hdr(&tar.Header{Typeflag: tar.TypeDir, Name: d.name, Mode: d.mode}); err != nil {
			return err
		}
	}
	if err := hdr(&tar.Header{Typeflag: tar.TypeReg, Name: "bin/busybox", Mode: 0o755, Size: size}); err != nil {
		return err
	}
	f, err := os.Open(busyboxPath)
	if err != nil {
		return err
	}
	n, err := io.Copy(tw, f)
	f.Close()
	if err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("%s changed while reading it", busyboxPath)
	}
	for _, a := range applets {
		if a == "busybox" || strings.ContainsRune(a, '/') {
			continue
		}
		if err := hdr(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + a, Linkname: "busybox", Mode: 0o777}); err != nil {
			return err
		}
	}
	files := []struct{ name, body string }{
		{"etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"},
		{"etc/group", "root:x:0:\nnobody:x:65534:\n"},
	}
	for _, f := range files {
		if err := hdr(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: 0o644, Size: int64(len(f.body))}); err != nil {
			return err
		}
		if _, err := io.WriteString(tw, f.body); err != nil {
			return err
		}
	}
	return tw.Close()
}
