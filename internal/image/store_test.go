package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

func TestImport(t *testing.T) {
	rootfs := tarBytes(t, entry{name: "bin/", typ: tar.TypeDir}, entry{name: "bin/app", body: "#!/bin/sh\n", mode: 0o755},
		entry{name: "bin/link", typ: tar.TypeSymlink, link: "app"})
	tests := []struct {
		name string
		data []byte
		ref  string
	}{
		{"plain", rootfs, "imported:plain"},
		{"gzip", gzipBytes(rootfs), "example.com/imported:gz"},
		{"untagged", rootfs, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			img, err := s.Import(bytes.NewReader(tt.data), tt.ref, ImportOptions{
				Cmd: []string{"/bin/app"}, Env: []string{"A=b"}, WorkingDir: "/bin", Message: "hello"})
			if err != nil {
				t.Fatal(err)
			}
			if tt.ref != "" {
				r, _ := ParseReference(tt.ref)
				if !slices.Equal(img.RepoTags, []string{r.String()}) {
					t.Errorf("RepoTags = %v", img.RepoTags)
				}
			} else if len(img.RepoTags) != 0 {
				t.Errorf("RepoTags = %v, want none", img.RepoTags)
			}
			c := img.Config
			if c.OS != "linux" || c.Architecture != runtime.GOARCH || !slices.Equal(c.Config.Cmd, []string{"/bin/app"}) ||
				c.Config.WorkingDir != "/bin" || !slices.Equal(c.Config.Env, []string{"A=b"}) ||
				len(c.History) != 1 || c.History[0].Comment != "hello" || len(c.RootFS.DiffIDs) != 1 {
				t.Errorf("config = %+v", c)
			}
			if got := readLayerFile(t, s, img, 0, "bin/link"); got != "#!/bin/sh\n" {
				t.Errorf("bin/link = %q", got)
			}
			if len(s.History(img)) != 1 {
				t.Error("History empty")
			}
			checkConsistent(t, s)
		})
	}
	s := newStore(t)
	if _, err := s.Import(bytes.NewReader([]byte("not a tar at all, surely")), "", ImportOptions{}); err == nil {
		t.Error("import of garbage succeeded")
	}
	if _, err := s.Import(bytes.NewReader(rootfs), "x@sha256:"+string(bytes.Repeat([]byte("a"), 64)), ImportOptions{}); err == nil {
		t.Error("import with digest tag succeeded")
	}
	checkConsistent(t, s)
}

func TestTagUntagRemovePrune(t *testing.T) {
	s := newStore(t)
	shared := entry{name: "shared", body: "same in both"}
	a, err := s.Import(bytes.NewReader(tarBytes(t, shared)), "a", ImportOptions{Cmd: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Import(bytes.NewReader(tarBytes(t, shared)), "b", ImportOptions{Cmd: []string{"b"}})
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == b.ID {
		t.Fatal("distinct configs, same ID")
	}
	da, _ := s.LayerDirs(a)
	db, _ := s.LayerDirs(b)
	if !slices.Equal(da, db) {
		t.Errorf("identical layer unpacked twice: %v %v", da, db)
	}

	if err := s.Tag("a", "localhost:5000/a:v1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Tag("nope", "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Tag of missing image: %v", err)
	}
	if err := s.Tag("a", "Bad"); err == nil {
		t.Error("Tag to invalid name succeeded")
	}
	if got := mustGet(t, s, "localhost:5000/a:v1"); got.ID != a.ID || len(got.RepoTags) != 2 {
		t.Errorf("after Tag: %v %v", got.ID, got.RepoTags)
	}
	if err := s.Untag("a:latest"); err != nil {
		t.Fatal(err)
	}
	if err := s.Untag("a:latest"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Untag: %v", err)
	}
	if _, err := s.Get("a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Untag: %v", err)
	}

	// a still has a tag; untag it: dangling. Prune removes it but keeps b and the shared layer.
	if err := s.Untag("localhost:5000/a:v1"); err != nil {
		t.Fatal(err)
	}
	removed, err := s.Prune(false, nil)
	if err != nil || !slices.Equal(removed, []string{a.ID}) {
		t.Fatalf("Prune = %v, %v", removed, err)
	}
	if got := readLayerFile(t, s, mustGet(t, s, "b"), 0, "shared"); got != "same in both" {
		t.Errorf("shared layer damaged: %q", got)
	}
	checkConsistent(t, s)

	// Prune all spares images in use.
	removed, err = s.Prune(true, func(id string) bool { return id == b.ID })
	if err != nil || len(removed) != 0 {
		t.Fatalf("Prune(all, in use) = %v, %v", removed, err)
	}
	if err := s.Remove(b.ID[7:19]); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(b.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Remove: %v", err)
	}
	imgs, _ := s.List()
	if len(imgs) != 0 {
		t.Errorf("List after removing all = %d images", len(imgs))
	}
	blobs, _ := os.ReadDir(filepath.Join(s.root, "blobs", "sha256"))
	layers, _ := os.ReadDir(filepath.Join(s.root, "l"))
	if len(blobs) != 0 || len(layers) != 0 {
		t.Errorf("left behind: %d blobs, %d layers", len(blobs), len(layers))
	}
	checkConsistent(t, s)
}

func TestListOrder(t *testing.T) {
	reg := startRegistry(t)
	s := newStore(t)
	for i, year := range []int{2021, 2023, 2022} {
		img := imageOf(t, runtime.GOARCH, nil, layerOf(t, entry{name: "f", body: fmt.Sprint(i)}))
		img, err := mutate.CreatedAt(img, v1.Time{Time: time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		ref := fmt.Sprintf("%s/o%d:v1", reg.host, year)
		reg.push(t, ref[len(reg.host)+1:], img)
		if _, err := s.Pull(context.Background(), ref, PullOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	imgs, err := s.List()
	if err != nil || len(imgs) != 3 {
		t.Fatalf("List = %v, %v", imgs, err)
	}
	var years []int
	for _, img := range imgs {
		years = append(years, img.Created.Year())
	}
	if !slices.Equal(years, []int{2023, 2022, 2021}) {
		t.Errorf("List order by year = %v, want newest first", years)
	}
}

func TestSaveLoad(t *testing.T) {
	reg := startRegistry(t)
	img := imageOf(t, runtime.GOARCH, []string{"run"},
		layerOf(t, entry{name: "a", body: "a"}), layerOf(t, entry{name: "b", body: "b"}))
	reg.push(t, "saved:v1", img)
	src := newStore(t)
	pulled, err := src.Pull(context.Background(), reg.host+"/saved:v1", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	imported, err := src.Import(bytes.NewReader(tarBytes(t, entry{name: "c", body: "c"})), "", ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"docker-archive", "oci-archive"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := src.Save(&buf, []string{reg.host + "/saved:v1", imported.ID[:12]}, format); err != nil {
				t.Fatal(err)
			}
			dst := newStore(t)
			loaded, err := dst.Load(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if len(loaded) != 2 {
				t.Fatalf("loaded %d images", len(loaded))
			}
			got := mustGet(t, dst, reg.host+"/saved:v1")
			if got.ID != pulled.ID || !slices.Equal(got.Config.Config.Cmd, []string{"run"}) {
				t.Errorf("loaded %s, saved %s", got.ID, pulled.ID)
			}
			if format == "oci-archive" && got.Digest != pulled.Digest {
				t.Errorf("OCI load changed the manifest digest: %s → %s", pulled.Digest, got.Digest)
			}
			if u := mustGet(t, dst, imported.ID); len(u.RepoTags) != 0 {
				t.Errorf("image saved by ID came back tagged %v", u.RepoTags)
			}
			if readLayerFile(t, dst, got, 1, "b") != "b" {
				t.Error("layer content lost")
			}
			// Loading again changes nothing.
			if _, err := dst.Load(bytes.NewReader(buf.Bytes())); err != nil {
				t.Fatal(err)
			}
			checkConsistent(t, dst)
			checkWithGGCR(t, format, buf.Bytes(), reg.host+"/saved:v1")
		})
	}
	if err := src.Save(&bytes.Buffer{}, []string{"saved"}, "zip"); err == nil {
		t.Error("Save with unknown format succeeded")
	}
}

// checkWithGGCR reads the saved archive with go-containerregistry's readers, a second opinion on
// the format.
func checkWithGGCR(t *testing.T, format string, data []byte, ref string) {
	t.Helper()
	if format == "docker-archive" {
		tag, err := name.NewTag(ref)
		if err != nil {
			t.Fatal(err)
		}
		img, err := tarball.Image(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }, &tag)
		if err != nil {
			t.Fatalf("ggcr reading docker-archive: %v", err)
		}
		if err := validate.Image(img); err != nil {
			t.Errorf("ggcr validating docker-archive image: %v", err)
		}
		return
	}
	dir := t.TempDir()
	cmd := exec.Command("tar", "-x", "-C", dir)
	cmd.Stdin = bytes.NewReader(data)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("untar: %v: %s", err, out)
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatalf("ggcr reading OCI layout: %v", err)
	}
	if err := validate.Index(idx); err != nil {
		t.Errorf("ggcr validating OCI layout: %v", err)
	}
}

// TestLoadLegacyDockerArchive loads the pre-25 docker save format: uncompressed layer.tar files in
// per-layer directories, one shared through a symlink.
func TestLoadLegacyDockerArchive(t *testing.T) {
	layer := tarBytes(t, entry{name: "etc/", typ: tar.TypeDir}, entry{name: "etc/os-release", body: "ID=test\n"})
	diffID := sha256Hash(layer)
	config := `{"architecture":"amd64","os":"linux","config":{"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":["` +
		diffID.String() + `","` + diffID.String() + `"]},"created":"2024-01-01T00:00:00Z"}`
	cfgDigest := sha256Hash([]byte(config))
	manifest := `[{"Config":"` + cfgDigest.Hex + `.json","RepoTags":["legacy:1","example.com/legacy:2"],` +
		`"Layers":["aaa/layer.tar","bbb/layer.tar"]}]`
	archive := tarBytes(t,
		entry{name: cfgDigest.Hex + ".json", body: config},
		entry{name: "aaa/", typ: tar.TypeDir},
		entry{name: "aaa/layer.tar", body: string(layer)},
		entry{name: "bbb/", typ: tar.TypeDir},
		entry{name: "bbb/layer.tar", typ: tar.TypeSymlink, link: "../aaa/layer.tar"},
		entry{name: "manifest.json", body: manifest})
	s := newStore(t)
	imgs, err := s.Load(bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 1 || imgs[0].ID != cfgDigest.String() || len(imgs[0].RepoTags) != 2 {
		t.Fatalf("loaded %+v", imgs)
	}
	dirs, err := s.LayerDirs(imgs[0])
	if err != nil || len(dirs) != 1 {
		t.Errorf("LayerDirs of an image with a repeated layer = %v, %v", dirs, err)
	}
	if got := readLayerFile(t, s, imgs[0], 0, "etc/os-release"); got != "ID=test\n" {
		t.Errorf("os-release = %q", got)
	}
	checkConsistent(t, s)

	bad := []struct {
		name    string
		archive []byte
	}{
		{"escaping symlink", tarBytes(t, entry{name: "manifest.json", body: `[{"Config":"c","Layers":["l"]}]`},
			entry{name: "c", typ: tar.TypeSymlink, link: "../../../../etc/passwd"})},
		{"dotdot path", tarBytes(t, entry{name: "../evil", body: "x"})},
		{"no manifest", tarBytes(t, entry{name: "x", body: "x"})},
		{"wrong diffID", tarBytes(t, entry{name: cfgDigest.Hex + ".json", body: config},
			entry{name: "l.tar", body: string(tarBytes(t, entry{name: "other", body: "x"}))},
			entry{name: "manifest.json", body: `[{"Config":"` + cfgDigest.Hex + `.json","Layers":["l.tar","l.tar"]}]`})},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			if _, err := s.Load(bytes.NewReader(tt.archive)); err == nil {
				t.Error("Load succeeded")
			}
			checkConsistent(t, s)
		})
	}
}

func TestEnsureDefault(t *testing.T) {
	if _, err := os.Stat(busyboxPath); err != nil {
		t.Skip("no /bin/busybox (busybox-static)")
	}
	s := newStore(t)
	img, err := s.EnsureDefault()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(img.RepoTags, []string{DefaultImage}) || !slices.Equal(img.Config.Config.Cmd, []string{"sh"}) {
		t.Errorf("RepoTags %v Cmd %v", img.RepoTags, img.Config.Config.Cmd)
	}
	dirs, err := s.LayerDirs(img)
	if err != nil || len(dirs) != 1 {
		t.Fatalf("LayerDirs = %v, %v", dirs, err)
	}
	if target, err := os.Readlink(filepath.Join(dirs[0], "bin/sh")); err != nil || target != "busybox" {
		t.Errorf("bin/sh → %q, %v", target, err)
	}
	for _, p := range []string{"proc", "sys", "dev", "root"} {
		if fi, err := os.Stat(filepath.Join(dirs[0], p)); err != nil || !fi.IsDir() {
			t.Errorf("%s: %v", p, err)
		}
	}
	if fi, err := os.Stat(filepath.Join(dirs[0], "tmp")); err != nil || fi.Mode()&os.ModeSticky == 0 {
		t.Errorf("tmp not sticky: %v", err)
	}
	if got := readLayerFile(t, s, img, 0, "etc/passwd"); !bytes.Contains([]byte(got), []byte("nobody:")) {
		t.Errorf("etc/passwd = %q", got)
	}
	again, err := s.EnsureDefault()
	if err != nil || again.ID != img.ID {
		t.Errorf("second EnsureDefault = %v, %v", again, err)
	}
	// Built again from scratch, the image is identical.
	s2 := newStore(t)
	other, err := s2.EnsureDefault()
	if err != nil || other.ID != img.ID {
		t.Errorf("rebuilt image ID %v (%v), want %s", other, err, img.ID)
	}
	checkConsistent(t, s)
}

func TestEnsureDefaultMissingBusybox(t *testing.T) {
	old := busyboxPath
	busyboxPath = filepath.Join(t.TempDir(), "busybox")
	t.Cleanup(func() { busyboxPath = old })
	_, err := newStore(t).EnsureDefault()
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("apt install busybox-static")) {
		t.Errorf("EnsureDefault without busybox: %v", err)
	}
}
