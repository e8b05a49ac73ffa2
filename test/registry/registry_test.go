package registry

import (
	"archive/tar"
	"errors"
	"io"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func fetch(t *testing.T, ref string) *remote.Descriptor {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	// The descriptor fetches lazily: its context must outlive this call.
	d, err := remote.Get(r, remote.WithContext(t.Context()))
	if err != nil {
		t.Fatalf("GET %s: %v", ref, err)
	}
	return d
}

// files flattens img the way a container would see it (go-containerregistry
// applies whiteouts) and returns path -> content for regular files.
func files(t *testing.T, img v1.Image) map[string]string {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	out := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			b, _ := io.ReadAll(tr)
			out[h.Name] = string(b)
		}
	}
}

// TestPushAndFetch runs a registry, pushes every kind of test image and
// reads them back as a client would.
func TestPushAndFetch(t *testing.T) {
	reg := Start(t)

	t.Run("busybox", func(t *testing.T) {
		ref := PushBusybox(t, reg, "busybox", map[string]string{"/data/hello": "hi\n"})
		d := fetch(t, ref)
		if d.MediaType != types.DockerManifestSchema2 {
			t.Errorf("media type %s", d.MediaType)
		}
		if got := reg.Digest(t, ref); got != d.Digest.String() {
			t.Errorf("Digest %s, GET says %s", got, d.Digest)
		}
		img, err := d.Image()
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if len(cfg.Config.Cmd) != 1 || cfg.Config.Cmd[0] != "sh" || cfg.Config.Env[0] != PathEnv {
			t.Errorf("config: %+v", cfg.Config)
		}
		layers, _ := img.Layers()
		if len(layers) != 1 {
			t.Errorf("%d layers, want 1", len(layers))
		}
		f := files(t, img)
		if f["data/hello"] != "hi\n" || f["etc/passwd"] == "" || len(f["bin/busybox"]) < 100000 {
			t.Errorf("missing files: data/hello %q, etc/passwd %d bytes, bin/busybox %d bytes",
				f["data/hello"], len(f["etc/passwd"]), len(f["bin/busybox"]))
		}
	})

	t.Run("multilayer", func(t *testing.T) {
		img, err := fetch(t, PushMultiLayer(t, reg, "multi:v1")).Image()
		if err != nil {
			t.Fatal(err)
		}
		layers, _ := img.Layers()
		if len(layers) != 3 {
			t.Errorf("%d layers, want 3", len(layers))
		}
		f := files(t, img)
		for p, want := range map[string]bool{"etc/motd": true, "data/b": true, "opt/new": true, "data/a": false, "opt/old": false} {
			if _, ok := f[p]; ok != want {
				t.Errorf("%s present: %v, want %v", p, ok, want)
			}
		}
	})

	t.Run("index", func(t *testing.T) {
		d := fetch(t, PushIndex(t, reg, "multiarch"))
		if d.MediaType != types.OCIImageIndex {
			t.Errorf("media type %s", d.MediaType)
		}
		idx, err := d.ImageIndex()
		if err != nil {
			t.Fatal(err)
		}
		m, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		arches := map[string]v1.Hash{}
		for _, desc := range m.Manifests {
			arches[desc.Platform.OS+"/"+desc.Platform.Architecture] = desc.Digest
		}
		for _, p := range []string{"linux/amd64", "linux/arm64"} {
			h, ok := arches[p]
			if !ok {
				t.Errorf("no %s in the index", p)
				continue
			}
			img, err := idx.Image(h)
			if err != nil {
				t.Fatal(err)
			}
			if got := files(t, img)["arch"]; got != p[len("linux/"):]+"\n" {
				t.Errorf("%s: /arch is %q", p, got)
			}
		}
	})

	t.Run("malicious", func(t *testing.T) {
		for _, kind := range MaliciousKinds {
			tr := PushMalicious(t, reg, "evil-"+kind, kind)
			fetch(t, tr.Ref)
			if s := tr.Sprung(); s != "" {
				t.Errorf("%s: sprung by pushing alone: %s", kind, s)
			}
		}
	})
}
