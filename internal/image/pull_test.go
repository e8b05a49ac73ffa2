package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sys/unix"
)

func TestPullSingleLayer(t *testing.T) {
	reg := startRegistry(t)
	img := imageOf(t, runtime.GOARCH, []string{"/bin/app"},
		layerOf(t, entry{name: "etc/", typ: tar.TypeDir}, entry{name: "etc/hello", body: "hi\n"}))
	digest := reg.push(t, "app:v1", img)
	s := newStore(t)
	var out bytes.Buffer
	got, err := s.Pull(context.Background(), reg.host+"/app:v1", PullOptions{Progress: &out})
	if err != nil {
		t.Fatal(err)
	}
	cfgDigest, _ := img.ConfigName()
	if got.ID != cfgDigest.String() || got.Digest != digest {
		t.Errorf("ID, Digest = %s, %s; want %s, %s", got.ID, got.Digest, cfgDigest, digest)
	}
	if want := []string{reg.host + "/app:v1"}; !slices.Equal(got.RepoTags, want) {
		t.Errorf("RepoTags = %v, want %v", got.RepoTags, want)
	}
	if want := []string{reg.host + "/app@" + digest}; !slices.Equal(got.RepoDigests, want) {
		t.Errorf("RepoDigests = %v, want %v", got.RepoDigests, want)
	}
	if !slices.Equal(got.Config.Config.Cmd, []string{"/bin/app"}) || got.Size != 3 {
		t.Errorf("Cmd = %v, Size = %d", got.Config.Config.Cmd, got.Size)
	}
	if !strings.Contains(out.String(), "... done") {
		t.Errorf("progress output %q lacks a done line", out.String())
	}
	if s := readLayerFile(t, s, got, 0, "etc/hello"); s != "hi\n" {
		t.Errorf("etc/hello = %q", s)
	}
	dirs, _ := s.LayerDirs(got)
	if rel, _ := filepath.Rel(s.root, dirs[0]); len(rel) != len("l/")+12 {
		t.Errorf("layer dir %s is not short", rel)
	}
	for _, ref := range []string{reg.host + "/app:v1", got.ID, got.ID[7:19], got.ID[:11], reg.host + "/app@" + digest} {
		if g, err := s.Get(ref); err != nil || g.ID != got.ID {
			t.Errorf("Get(%q) = %v, %v", ref, g, err)
		}
	}
	if _, err := newStore(t).Pull(context.Background(), reg.host+"/app:v1", PullOptions{Platform: "linux/s390x"}); err == nil ||
		!strings.Contains(err.Error(), "not the requested platform") {
		t.Errorf("pull for another platform: %v", err)
	}
	// Pulling again is a manifest check only.
	out.Reset()
	again, err := s.Pull(context.Background(), reg.host+"/app:v1", PullOptions{Progress: &out})
	if err != nil || again.ID != got.ID {
		t.Fatalf("second pull: %v, %v", again, err)
	}
	if strings.Contains(out.String(), "Pulling") {
		t.Errorf("second pull fetched layers: %q", out.String())
	}
	checkConsistent(t, s)
}

func TestPullNotFound(t *testing.T) {
	reg := startRegistry(t)
	s := newStore(t)
	_, err := s.Pull(context.Background(), reg.host+"/nope:v1", PullOptions{})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("Pull of missing image: %v, want ErrNotFound", err)
	}
	if _, err := s.Get("alpne:latest"); !errors.Is(err, ErrNotFound) || err.Error() != "no such image: alpne:latest" {
		t.Errorf("Get: %v", err)
	}
}

func TestPullWhiteouts(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("whiteouts are character devices: needs root")
	}
	reg := startRegistry(t)
	base := layerOf(t,
		entry{name: "a", body: "a"}, entry{name: "b", body: "b"},
		entry{name: "d/", typ: tar.TypeDir}, entry{name: "d/x", body: "x"})
	top := layerOf(t,
		entry{name: ".wh.a", body: ""},
		entry{name: "d/", typ: tar.TypeDir}, entry{name: "d/.wh..wh..opq"}, entry{name: "d/y", body: "y"})
	img := imageOf(t, runtime.GOARCH, nil, base, top)
	// Also as OCI media types, which go through the same code.
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	reg.push(t, "wh:latest", img)
	s := newStore(t)
	got, err := s.Pull(context.Background(), reg.host+"/wh", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dirs, err := s.LayerDirs(got)
	if err != nil || len(dirs) != 2 {
		t.Fatalf("LayerDirs = %v, %v", dirs, err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(dirs[1], "a"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Errorf("whiteout a: mode %o rdev %d, want char device 0:0", st.Mode, st.Rdev)
	}
	buf := make([]byte, 8)
	n, err := unix.Lgetxattr(filepath.Join(dirs[1], "d"), "trusted.overlay.opaque", buf)
	if err != nil || string(buf[:n]) != "y" {
		t.Errorf("d opaque xattr = %q, %v", buf[:n], err)
	}
	if _, err := os.Stat(filepath.Join(dirs[1], "d/.wh..wh..opq")); !os.IsNotExist(err) {
		t.Errorf("opaque marker left in layer: %v", err)
	}
	checkConsistent(t, s)
}

func TestPullMultiArch(t *testing.T) {
	reg := startRegistry(t)
	amd := imageOf(t, "amd64", []string{"amd"}, layerOf(t, entry{name: "arch", body: "amd64"}))
	arm := imageOf(t, "arm64", []string{"arm"}, layerOf(t, entry{name: "arch", body: "arm64"}))
	host := amd
	if runtime.GOARCH == "arm64" {
		host = arm
	}
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}})
	idxDigest := reg.pushIndex(t, "multi:latest", idx)

	tests := []struct {
		platform string
		want     v1.Image
		arch     string
	}{
		{"", host, runtime.GOARCH},
		{"linux/arm64", arm, "arm64"},
		{"linux/arm64/v8", arm, "arm64"},
		{"linux/amd64", amd, "amd64"},
	}
	for _, tt := range tests {
		t.Run(tt.platform, func(t *testing.T) {
			s := newStore(t)
			got, err := s.Pull(context.Background(), reg.host+"/multi", PullOptions{Platform: tt.platform})
			if err != nil {
				t.Fatal(err)
			}
			wantID, _ := tt.want.ConfigName()
			wantDigest, _ := tt.want.Digest()
			if got.ID != wantID.String() || got.Digest != wantDigest.String() || got.Config.Architecture != tt.arch {
				t.Errorf("got %s %s %s, want %s %s %s", got.ID, got.Digest, got.Config.Architecture, wantID, wantDigest, tt.arch)
			}
			if rd := reg.host + "/multi@" + idxDigest; !slices.Contains(got.RepoDigests, rd) {
				t.Errorf("RepoDigests %v lacks %s", got.RepoDigests, rd)
			}
			if a := readLayerFile(t, s, got, 0, "arch"); a != tt.arch {
				t.Errorf("arch file = %q", a)
			}
		})
	}
	s := newStore(t)
	if _, err := s.Pull(context.Background(), reg.host+"/multi", PullOptions{Platform: "linux/s390x"}); err == nil ||
		!strings.Contains(err.Error(), "no matching manifest for linux/s390x") {
		t.Errorf("pull for missing platform: %v", err)
	}
	if _, err := s.Pull(context.Background(), reg.host+"/multi", PullOptions{Platform: "bogus"}); err == nil {
		t.Error("pull with invalid platform succeeded")
	}
}

func TestPullByDigest(t *testing.T) {
	reg := startRegistry(t)
	img := imageOf(t, runtime.GOARCH, nil, layerOf(t, entry{name: "f", body: "by digest"}))
	digest := reg.push(t, "d:v1", img)
	s := newStore(t)
	ref := reg.host + "/d@" + digest
	got, err := s.Pull(context.Background(), ref, PullOptions{Progress: &bytes.Buffer{}, Terminal: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.RepoTags) != 0 || !slices.Equal(got.RepoDigests, []string{ref}) || got.Digest != digest {
		t.Errorf("RepoTags %v RepoDigests %v Digest %s", got.RepoTags, got.RepoDigests, got.Digest)
	}
	if g := mustGet(t, s, ref); g.ID != got.ID {
		t.Errorf("Get by digest = %s", g.ID)
	}
	checkConsistent(t, s)
}

// TestPullInterrupted cuts a layer download half way: the pull fails, leaves nothing half written,
// and the next pull fetches only what is missing.
func TestPullInterrupted(t *testing.T) {
	reg := startRegistry(t)
	big := layerOf(t, entry{name: "big", body: strings.Repeat("0123456789abcdef", 64<<10)})
	small := layerOf(t, entry{name: "small", body: "s"})
	img := imageOf(t, runtime.GOARCH, nil, small, big)
	reg.push(t, "i:v1", img)
	bigDigest, _ := big.Digest()

	smallDigest, _ := small.Digest()
	s := newStore(t)
	var fail atomic.Bool
	fail.Store(true)
	var mu sync.Mutex
	fetched := map[string]int{}
	reg.wrap = func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if i := strings.Index(r.URL.Path, "/blobs/sha256:"); i >= 0 && r.Method == http.MethodGet {
			d := r.URL.Path[i+len("/blobs/"):]
			mu.Lock()
			fetched[d]++
			mu.Unlock()
			if d == bigDigest.String() && fail.Load() {
				// Fail once the other layer is stored: a failure cancels downloads in progress.
				for i := 0; i < 500 && !s.hasBlob(smallDigest); i++ {
					time.Sleep(10 * time.Millisecond)
				}
				rec := &halfWriter{ResponseWriter: w}
				next.ServeHTTP(rec, r)
				panic(http.ErrAbortHandler)
			}
		}
		next.ServeHTTP(w, r)
	}
	_, err := s.Pull(context.Background(), reg.host+"/i:v1", PullOptions{})
	if err == nil {
		t.Fatal("pull with a broken download succeeded")
	}
	t.Logf("interrupted pull: %v", err)
	if _, err := s.Get(reg.host + "/i:v1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("image recorded after failed pull: %v", err)
	}
	if s.hasBlob(bigDigest) {
		t.Error("partial blob stored")
	}
	checkConsistent(t, s)

	if !s.hasBlob(smallDigest) {
		t.Error("complete layer not kept after the failed pull")
	}
	fail.Store(false)
	before := fetched[smallDigest.String()]
	var out bytes.Buffer
	got, err := s.Pull(context.Background(), reg.host+"/i:v1", PullOptions{Progress: &out})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("second pull:\n%s", out.String())
	if n := fetched[smallDigest.String()]; n != before {
		t.Errorf("complete layer fetched again (%d → %d)", before, n)
	}
	if len(readLayerFile(t, s, got, 1, "big")) != 16*64<<10 {
		t.Error("big file incomplete")
	}
	checkConsistent(t, s)
}

// halfWriter passes on the first half of the body only.
type halfWriter struct {
	http.ResponseWriter
	total, written int64
}

func (h *halfWriter) WriteHeader(code int) {
	fmt.Sscan(h.Header().Get("Content-Length"), &h.total)
	h.ResponseWriter.WriteHeader(code)
}

func (h *halfWriter) Write(p []byte) (int, error) {
	if limit := h.total / 2; h.written+int64(len(p)) > limit {
		p = p[:max(0, limit-h.written)]
	}
	n, err := h.ResponseWriter.Write(p)
	h.written += int64(n)
	if f, ok := h.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
	return n, err
}

func TestPullConcurrent(t *testing.T) {
	reg := startRegistry(t)
	shared := layerOf(t, entry{name: "shared", body: strings.Repeat("s", 100000)})
	var refs []string
	for i := range 4 {
		img := imageOf(t, runtime.GOARCH, nil, shared, layerOf(t, entry{name: "own", body: fmt.Sprint(i)}))
		ref := fmt.Sprintf("c%d:v1", i)
		reg.push(t, ref, img)
		refs = append(refs, reg.host+"/"+ref)
	}
	s := newStore(t)
	// A second Store on the same root acts like a second nook process.
	s2, err := Open(s.root, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*len(refs))
	for i, ref := range refs {
		for _, st := range []*Store{s, s2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := st.Pull(context.Background(), ref, PullOptions{}); err != nil {
					errs <- fmt.Errorf("pull %d: %w", i, err)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	imgs, err := s.List()
	if err != nil || len(imgs) != len(refs) {
		t.Fatalf("List = %d images, %v", len(imgs), err)
	}
	for i, ref := range refs {
		img := mustGet(t, s, ref)
		if got := readLayerFile(t, s, img, 1, "own"); got != fmt.Sprint(i) {
			t.Errorf("%s: own = %q", ref, got)
		}
	}
	var nlayers int
	s.view(func(st *state) error { nlayers = len(st.layers); return nil })
	if nlayers != len(refs)+1 {
		t.Errorf("%d layers unpacked, want %d (shared layer once)", nlayers, len(refs)+1)
	}
	checkConsistent(t, s)
}

func TestPushRoundTrip(t *testing.T) {
	reg := startRegistry(t)
	s := newStore(t)
	imported, err := s.Import(bytes.NewReader(tarBytes(t, entry{name: "hello", body: "world"})), "local/x:1",
		ImportOptions{Cmd: []string{"cat", "/hello"}})
	if err != nil {
		t.Fatal(err)
	}
	dst := reg.host + "/pushed/x:v2"
	if err := s.Tag("local/x:1", dst); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := s.Push(context.Background(), dst, PushOptions{Progress: &out}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "digest: "+imported.Digest) {
		t.Errorf("push output %q lacks the digest", out.String())
	}
	s2 := newStore(t)
	got, err := s2.Pull(context.Background(), dst, PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != imported.ID || got.Digest != imported.Digest {
		t.Errorf("pulled %s/%s, pushed %s/%s", got.ID, got.Digest, imported.ID, imported.Digest)
	}
	if s := readLayerFile(t, s2, got, 0, "hello"); s != "world" {
		t.Errorf("hello = %q", s)
	}
	if err := s.Push(context.Background(), reg.host+"/missing:v1", PushOptions{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("push of missing image: %v", err)
	}
}
