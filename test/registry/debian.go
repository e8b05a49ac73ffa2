package registry

import (
	"compress/gzip"
	"runtime"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// PushRootfs pushes an image (Docker media types) made from a root
// filesystem tarball, such as the Debian one hack/debian-rootfs.sh writes,
// and returns its reference "ADDR/repo:latest". Layer 1 is the tarball as
// it is (gzipped on the way); layer 2, when extra is not empty, holds
// extra's entries. Cmd is cmd, Env the usual PATH.
func PushRootfs(t testing.TB, reg *Registry, repo, rootfs string, cmd []string, extra ...Entry) string {
	t.Helper()
	img, err := image(dockerTypes, runtime.GOARCH, cmd)
	if err != nil {
		t.Fatal(err)
	}
	// The fastest gzip level, and the compressed bytes kept in memory:
	// otherwise the layer is compressed twice, for its digest and for the
	// upload.
	base, err := tarball.LayerFromFile(rootfs, tarball.WithMediaType(dockerTypes.layer),
		tarball.WithCompressionLevel(gzip.BestSpeed), tarball.WithCompressedCaching)
	if err != nil {
		t.Fatalf("layer from %s: %v", rootfs, err)
	}
	adds := []mutate.Addendum{{Layer: base, History: v1.History{CreatedBy: "rootfs tarball", Created: v1.Time{Time: epoch}}}}
	if len(extra) > 0 {
		l, err := Layer(dockerTypes.layer, extra...)
		if err != nil {
			t.Fatal(err)
		}
		adds = append(adds, mutate.Addendum{Layer: l, History: v1.History{CreatedBy: "extra files", Created: v1.Time{Time: epoch}}})
	}
	if img, err = mutate.Append(img, adds...); err != nil {
		t.Fatal(err)
	}
	return push(t, reg, repo, img)
}
