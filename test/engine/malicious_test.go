package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nook-containers/nook/test/registry"
)

// TestMaliciousLayers: a layer that reaches outside its directory (../,
// an absolute name, symlinks or hardlinks pointing out) never writes on
// the host. For ../ names, writes through a symlink that leaves the layer,
// and hardlinks to outside, the pull fails with a clear error. For an
// absolute name and a relative symlink climbing above / the pull may
// instead keep the entry inside the image, as Docker and containerd do
// (leading "/" dropped, symlinks resolved within the root): then the file
// must be found inside the container, at DIR/pwned.
func TestMaliciousLayers(t *testing.T) {
	mayContain := map[string]bool{"abs-path": true, "rel-symlink": true}
	for _, kind := range registry.MaliciousKinds {
		t.Run(kind, func(t *testing.T) {
			e := newEngine(t)
			reg := registry.Start(t)
			trap := registry.PushMalicious(t, reg, "evil-"+kind, kind)
			r := e.nook("pull", trap.Ref)
			if s := trap.Sprung(); s != "" {
				t.Errorf("ESCAPE: pulling the %s image wrote outside the layer: %s", kind, s)
			}
			if r.Code != 0 {
				wantError(t, r)
				t.Logf("pull refused: %s", strings.TrimSpace(r.Stderr))
				return
			}
			// Pulled: a lazy engine may unpack only now.
			e.must("create", "--name", "evil", trap.Ref)
			if s := trap.Sprung(); s != "" {
				t.Errorf("ESCAPE: creating a container of the %s image wrote outside its rootfs: %s", kind, s)
			}
			if !mayContain[kind] {
				t.Errorf("the pull of the %s image succeeded; want a clear error", kind)
				return
			}
			dst := filepath.Join(e.dir, "pwned")
			if r := e.nook("cp", "evil:"+trap.Dir+"/pwned", dst); r.Code != 0 {
				t.Errorf("the %s entry was accepted but is not inside the container at %s/pwned: %s", kind, trap.Dir, r)
			} else if b, _ := os.ReadFile(dst); string(b) != "pwned\n" {
				t.Errorf("%s/pwned in the container: %q", trap.Dir, b)
			} else {
				t.Logf("the %s entry was kept inside the image, at %s/pwned", kind, trap.Dir)
			}
		})
	}
}
