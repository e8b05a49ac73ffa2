package registry

import (
	"context"
	"os"
	"path"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// PathEnv is the PATH of every image made here.
const PathEnv = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// probePath is the probe binary to put in images at /probe, if any.
func probePath() string { return os.Getenv("NOOK_PROBE") }

// mediaTypes are the manifest, config and layer media types of one image
// flavour: what Docker Hub mostly serves, or OCI.
type mediaTypes struct {
	manifest, config, layer types.MediaType
}

var (
	dockerTypes = mediaTypes{types.DockerManifestSchema2, types.DockerConfigJSON, types.DockerLayer}
	ociTypes    = mediaTypes{types.OCIManifestSchema1, types.OCIConfigJSON, types.OCILayer}
)

// layerSpec is one layer and the history line that made it.
type layerSpec struct {
	createdBy string
	entries   []Entry
}

// image builds a linux image for arch with the given layers and Cmd.
func image(mt mediaTypes, arch string, cmd []string, layers ...layerSpec) (v1.Image, error) {
	cfg := &v1.ConfigFile{
		Architecture: arch,
		OS:           "linux",
		Created:      v1.Time{Time: epoch},
		Config:       v1.Config{Cmd: cmd, Env: []string{PathEnv}},
		RootFS:       v1.RootFS{Type: "layers"},
	}
	img, err := mutate.ConfigFile(empty.Image, cfg)
	if err != nil {
		return nil, err
	}
	img = mutate.MediaType(img, mt.manifest)
	img = mutate.ConfigMediaType(img, mt.config)
	for _, ls := range layers {
		l, err := Layer(mt.layer, ls.entries...)
		if err != nil {
			return nil, err
		}
		img, err = mutate.Append(img, mutate.Addendum{
			Layer:   l,
			History: v1.History{CreatedBy: ls.createdBy, Created: v1.Time{Time: epoch}},
		})
		if err != nil {
			return nil, err
		}
	}
	return img, nil
}

// busyboxLayer is the busybox root filesystem plus extra files
// (path -> content, mode 0644), with the directories they need.
func busyboxLayer(t testing.TB, extra map[string]string) layerSpec {
	t.Helper()
	entries, err := BusyboxEntries(probePath())
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, e := range entries {
		have[strings.TrimSuffix(e.Name, "/")] = true
	}
	paths := make([]string, 0, len(extra))
	for p := range extra {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		rel := strings.TrimPrefix(path.Clean("/"+p), "/")
		var dirs []string
		for d := path.Dir(rel); d != "." && !have[d]; d = path.Dir(d) {
			dirs = append(dirs, d)
			have[d] = true
		}
		for i := len(dirs) - 1; i >= 0; i-- {
			entries = append(entries, Dir(dirs[i]+"/", 0))
		}
		entries = append(entries, File(rel, extra[p], 0))
	}
	return layerSpec{createdBy: "busybox-static rootfs", entries: entries}
}

// push writes img to reg as repo (":latest" unless repo has a tag) and
// returns its full reference.
func push(t testing.TB, reg *Registry, repo string, img v1.Image) string {
	t.Helper()
	ref := reg.Ref(repo)
	parsed, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := remote.Write(parsed, img, remote.WithContext(ctx)); err != nil {
		t.Fatalf("pushing %s: %v\nregistry log: %s", ref, err, reg.Log())
	}
	return ref
}

// PushBusybox pushes a one-layer busybox image (Docker media types, like
// Docker Hub's) to reg as repo and returns its reference "ADDR/repo:latest".
// The layer holds the host's /bin/busybox and its applet symlinks,
// /etc/passwd, /etc/group, /tmp (1777), the probe at /probe when NOOK_PROBE
// is set, and extra (path -> content). Cmd is ["sh"], Env the usual PATH.
func PushBusybox(t testing.TB, reg *Registry, repo string, extra map[string]string) string {
	t.Helper()
	img, err := image(dockerTypes, runtime.GOARCH, []string{"sh"}, busyboxLayer(t, extra))
	if err != nil {
		t.Fatal(err)
	}
	return push(t, reg, repo, img)
}

// PushMultiLayer pushes a three-layer image (OCI media types) and returns
// its reference:
//
//  1. the busybox layer of PushBusybox;
//  2. adds /etc/motd ("hello from layer 2\n"), /data/a, /data/b and /opt/old;
//  3. deletes /data/a with a whiteout (data/.wh.a), makes /opt opaque
//     (opt/.wh..wh..opq) and adds /opt/new.
//
// So a container sees /etc/motd, /data/b, /opt/new, and neither /data/a
// nor /opt/old.
func PushMultiLayer(t testing.TB, reg *Registry, repo string) string {
	t.Helper()
	base := busyboxLayer(t, nil)
	second := layerSpec{createdBy: "add motd, data and opt", entries: []Entry{
		Dir("etc/", 0), File("etc/motd", "hello from layer 2\n", 0),
		Dir("data/", 0), File("data/a", "a\n", 0), File("data/b", "b\n", 0),
		Dir("opt/", 0), File("opt/old", "old\n", 0),
	}}
	third := layerSpec{createdBy: "rm /data/a; replace /opt", entries: []Entry{
		Dir("data/", 0), Whiteout("data/a"),
		Dir("opt/", 0), Opaque("opt"), File("opt/new", "new\n", 0),
	}}
	img, err := image(ociTypes, runtime.GOARCH, []string{"sh"}, base, second, third)
	if err != nil {
		t.Fatal(err)
	}
	return push(t, reg, repo, img)
}

// PushIndex pushes an OCI image index with two images and returns its
// reference:
//
//   - linux/amd64: the busybox image, plus /arch containing "amd64\n";
//   - linux/arm64: one layer with only /etc/ and /arch containing "arm64\n"
//     (it cannot run; it is there to be pulled and looked at).
func PushIndex(t testing.TB, reg *Registry, repo string) string {
	t.Helper()
	amd, err := image(ociTypes, "amd64", []string{"sh"}, busyboxLayer(t, map[string]string{"arch": "amd64\n"}))
	if err != nil {
		t.Fatal(err)
	}
	arm, err := image(ociTypes, "arm64", []string{"sh"}, layerSpec{
		createdBy: "arm64 marker",
		entries:   []Entry{Dir("etc/", 0), File("arch", "arm64\n", 0)},
	})
	if err != nil {
		t.Fatal(err)
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	idx = mutate.AppendManifests(idx,
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
	)
	ref := reg.Ref(repo)
	parsed, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := remote.WriteIndex(parsed, idx, remote.WithContext(ctx)); err != nil {
		t.Fatalf("pushing index %s: %v\nregistry log: %s", ref, err, reg.Log())
	}
	return ref
}
