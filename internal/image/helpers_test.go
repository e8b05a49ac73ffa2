package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// entry is a tar entry for test layers.
type entry struct {
	name, body string
	typ        byte // tar.TypeReg if 0
	link       string
	mode       int64
}

func tarBytes(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: e.mode, Size: int64(len(e.body)),
			ModTime: time.Unix(1700000000, 0)}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if h.Mode == 0 {
			h.Mode = 0o644
			if h.Typeflag == tar.TypeDir {
				h.Mode = 0o755
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			tw.Write([]byte(e.body))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func layerOf(t testing.TB, entries ...entry) v1.Layer {
	t.Helper()
	b := tarBytes(t, entries...)
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func imageOf(t testing.TB, arch string, cmd []string, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Config.Cmd = cmd
	cf.Created = v1.Time{Time: time.Unix(1700000000, 0).UTC()}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func newStore(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "image"), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// testRegistry is an in-process registry on 127.0.0.1; wrap may intercept requests.
type testRegistry struct {
	host string
	wrap func(w http.ResponseWriter, r *http.Request, next http.Handler)
}

func startRegistry(t testing.TB) *testRegistry {
	t.Helper()
	tr := &testRegistry{}
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tr.wrap != nil {
			tr.wrap(w, r, reg)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	tr.host = strings.TrimPrefix(srv.URL, "http://")
	return tr
}

func (tr *testRegistry) push(t testing.TB, ref string, img v1.Image) string {
	t.Helper()
	full := tr.host + "/" + ref
	r, err := name.ParseReference(full)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatalf("pushing %s: %v", full, err)
	}
	d, _ := img.Digest()
	return d.String()
}

func (tr *testRegistry) pushIndex(t testing.TB, ref string, idx v1.ImageIndex) string {
	t.Helper()
	full := tr.host + "/" + ref
	r, err := name.ParseReference(full)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatalf("pushing %s: %v", full, err)
	}
	d, _ := idx.Digest()
	return d.String()
}

func mustGet(t testing.TB, s *Store, ref string) *Image {
	t.Helper()
	img, err := s.Get(ref)
	if err != nil {
		t.Fatalf("Get(%q): %v", ref, err)
	}
	return img
}

func readLayerFile(t testing.TB, s *Store, img *Image, layer int, file string) string {
	t.Helper()
	dirs, err := s.LayerDirs(img)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dirs[layer], file))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkConsistent verifies the store invariants: every record's blobs and layers exist, no temporary
// files are left, and every layer directory is known.
func checkConsistent(t testing.TB, s *Store) {
	t.Helper()
	err := s.view(func(st *state) error {
		for id, rec := range st.images {
			for _, b := range blobsOf(rec) {
				d, err := parseDigest(b)
				if err != nil || !s.hasBlob(d) {
					t.Errorf("image %s: blob %s missing", id, b)
				}
			}
			for _, l := range rec.Layers {
				ld, ok := st.layers[l.DiffID]
				if !ok {
					t.Errorf("image %s: layer %s not unpacked", id, l.DiffID)
					continue
				}
				if _, err := os.Stat(filepath.Join(s.root, ld.Dir)); err != nil {
					t.Errorf("image %s: layer dir: %v", id, err)
				}
			}
		}
		for id := range st.tags {
			if st.images[st.tags[id]] == nil {
				t.Errorf("tag %s points to missing image", id)
			}
		}
		dirs := map[string]bool{}
		for _, ld := range st.layers {
			dirs[ld.Dir] = true
		}
		ents, _ := os.ReadDir(filepath.Join(s.root, "l"))
		for _, e := range ents {
			if !dirs[filepath.Join("l", e.Name())] {
				t.Errorf("unknown layer directory l/%s", e.Name())
			}
		}
		for _, d := range []string{"blobs/sha256", "images", "."} {
			ents, _ := os.ReadDir(filepath.Join(s.root, d))
			for _, e := range ents {
				if strings.HasPrefix(e.Name(), ".tmp-") {
					t.Errorf("temporary file left: %s/%s", d, e.Name())
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
