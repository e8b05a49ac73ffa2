package engine

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nook-containers/nook/test/registry"
)

// TestBuiltinImage: nook.local/busybox is made offline on first use.
func TestBuiltinImage(t *testing.T) {
	e := newEngine(t)
	if got := e.must("run", "--rm", builtin, "echo", "hi"); got != "hi" {
		t.Errorf("echo hi printed %q", got)
	}
}

// TestPullRun: a one-layer image (Docker media types) pulled from the
// registry runs, with the image's Cmd and PATH.
func TestPullRun(t *testing.T) {
	e := newEngine(t)
	_, ref := pushBusybox(t, "busybox")
	e.must("pull", ref)
	if got := e.must("run", "--rm", ref, "echo", "hello"); got != "hello" {
		t.Errorf("echo hello printed %q", got)
	}
	// The image's Cmd is sh: with stdin closed it exits 0 at once.
	if r := e.nookIn(strings.NewReader("echo from-stdin\n"), "run", "-i", "--rm", ref); r.Code != 0 || r.Out() != "from-stdin" {
		t.Errorf("run -i with the image's Cmd (sh): %s", r)
	}
	if got := e.must("run", "--rm", ref, "sh", "-c", "echo $PATH"); got != strings.TrimPrefix(registry.PathEnv, "PATH=") {
		t.Errorf("PATH in the container is %q, want the image's", got)
	}
}

// TestPullMultiLayer: whiteouts delete and opaque directories hide what
// lower layers had.
func TestPullMultiLayer(t *testing.T) {
	e := newEngine(t)
	reg := registry.Start(t)
	ref := registry.PushMultiLayer(t, reg, "multi:v1")
	e.must("pull", ref)
	got := e.must("run", "--rm", ref, "sh", "-c", "cat /etc/motd; ls /data; ls /opt; test -e /data/a && echo data-a-present; true")
	want := "hello from layer 2\nb\nnew"
	if got != want {
		t.Errorf("the container sees:\n%s\nwant:\n%s\n(/data/a whited out, /opt opaque with only new)", got, want)
	}
}

// TestPullByDigest: ADDR/repo@sha256:... pulls and runs.
func TestPullByDigest(t *testing.T) {
	e := newEngine(t)
	reg, ref := pushBusybox(t, "bydigest")
	byDigest := reg.Addr + "/bydigest@" + reg.Digest(t, ref)
	e.must("pull", byDigest)
	if got := e.must("run", "--rm", byDigest, "echo", "ok"); got != "ok" {
		t.Errorf("echo ok printed %q", got)
	}
	if out := e.must("images"); !strings.Contains(out, reg.Addr+"/bydigest") {
		t.Errorf("images does not list the repository:\n%s", out)
	}
}

// TestPullPlatform: from a multi-arch index the host's image is pulled by
// default and --platform linux/arm64 picks the other, which is looked at
// without being run.
func TestPullPlatform(t *testing.T) {
	e := newEngine(t)
	reg := registry.Start(t)
	ref := registry.PushIndex(t, reg, "multiarch")

	e.must("pull", ref)
	if got := e.must("run", "--rm", ref, "cat", "/arch"); got != "amd64" {
		t.Errorf("default pull: /arch is %q, want amd64", got)
	}

	e2 := newEngine(t)
	e2.must("pull", "--platform", "linux/arm64", ref)
	var imgs []struct {
		Architecture string
		Os           string
	}
	r := e2.nook("image", "inspect", ref)
	if err := json.Unmarshal([]byte(r.Stdout), &imgs); err != nil || len(imgs) != 1 {
		t.Fatalf("image inspect: want a JSON array of one image: %v\n%s", err, r)
	}
	if imgs[0].Architecture != "arm64" || imgs[0].Os != "linux" {
		t.Errorf("image inspect: %s/%s, want linux/arm64", imgs[0].Os, imgs[0].Architecture)
	}
	// Creating (not starting) a container of another architecture works in
	// Docker; cp then reads the marker out of its root filesystem.
	if r := e2.nook("create", "--name", "arm", ref); r.Code != 0 {
		t.Fatalf("create of the arm64 image: %s", r)
	}
	dst := filepath.Join(e2.dir, "arch")
	e2.must("cp", "arm:/arch", dst)
	if b, err := os.ReadFile(dst); err != nil || string(b) != "arm64\n" {
		t.Errorf("/arch of the arm64 image: %q, %v", b, err)
	}
}

// TestImport: a root filesystem tarball becomes an image, from a file and
// from stdin.
func TestImport(t *testing.T) {
	e := newEngine(t)
	tarball := filepath.Join(e.dir, "rootfs.tar")
	if err := os.WriteFile(tarball, rootfsTar(t), 0o644); err != nil {
		t.Fatal(err)
	}
	e.must("import", tarball, "imported:v1")
	if got := e.must("run", "--rm", "imported:v1", "/bin/echo", "from-file"); got != "from-file" {
		t.Errorf("imported from a file: echo printed %q", got)
	}
	f, err := os.Open(tarball)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if r := e.nookIn(f, "import", "-", "imported:stdin"); r.Code != 0 {
		t.Fatal(r)
	}
	if got := e.must("run", "--rm", "imported:stdin", "/bin/cat", "/etc/group"); !strings.HasPrefix(got, "root:x:0:") {
		t.Errorf("imported from stdin: /etc/group is %q", got)
	}
}

// TestSaveLoad: an image saved to an archive, removed, and loaded back runs.
func TestSaveLoad(t *testing.T) {
	for _, format := range []string{"docker-archive", "oci-archive"} {
		t.Run(format, func(t *testing.T) {
			e := newEngine(t)
			_, ref := pushBusybox(t, "saved:v2")
			e.must("pull", ref)
			archive := filepath.Join(e.dir, "image.tar")
			e.must("save", "-o", archive, "--format", format, ref)
			checkArchive(t, archive, format)
			e.must("rmi", ref)
			if out := e.must("images"); strings.Contains(out, "saved") {
				t.Fatalf("rmi left the image:\n%s", out)
			}
			out := e.must("load", "-i", archive)
			if !strings.Contains(out, ref) && !strings.Contains(out, "sha256:") {
				t.Errorf("load printed %q, want the loaded image's name or ID", out)
			}
			if got := e.must("run", "--rm", ref, "echo", "loaded"); got != "loaded" {
				t.Errorf("echo printed %q", got)
			}
		})
	}
	t.Run("stdout-stdin", func(t *testing.T) {
		e := newEngine(t)
		e.must("run", "--rm", builtin, "true")
		e.must("tag", builtin, "piped:v1")
		r := e.nook("save", "piped:v1")
		if r.Code != 0 {
			t.Fatal(r)
		}
		e.must("rmi", "piped:v1")
		if r := e.nookIn(strings.NewReader(r.Stdout), "load"); r.Code != 0 {
			t.Fatal(r)
		}
		if got := e.must("run", "--rm", "piped:v1", "echo", "piped"); got != "piped" {
			t.Errorf("echo printed %q", got)
		}
	})
}

// checkArchive checks the archive's top-level shape: manifest.json for
// docker-archive, oci-layout and index.json for oci-archive.
func checkArchive(t *testing.T, path, format string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	names := map[string]bool{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) {
			t.Fatalf("reading the %s: %v", format, err)
		}
		names[strings.TrimPrefix(h.Name, "./")] = true
	}
	want := []string{"manifest.json"}
	if format == "oci-archive" {
		want = []string{"oci-layout", "index.json"}
	}
	for _, w := range want {
		if !names[w] {
			t.Errorf("the %s has no %s (has %v)", format, w, names)
		}
	}
}

// TestPushPull: an image tagged into the registry, pushed, and pulled by
// another root runs.
func TestPushPull(t *testing.T) {
	e := newEngine(t)
	reg := registry.Start(t)
	e.must("run", "--rm", builtin, "true")
	ref := reg.Ref("pushed/busybox:v1")
	e.must("tag", builtin, ref)
	e.must("push", ref)
	if d := reg.Digest(t, ref); !strings.HasPrefix(d, "sha256:") {
		t.Errorf("the registry has %q for %s", d, ref)
	}

	other := newEngine(t)
	other.must("pull", ref)
	if got := other.must("run", "--rm", ref, "echo", "round-trip"); got != "round-trip" {
		t.Errorf("echo printed %q", got)
	}
}

// TestRmiInUse: rmi refuses an image a container uses; rmi -f removes it.
func TestRmiInUse(t *testing.T) {
	e := newEngine(t)
	_, ref := pushBusybox(t, "inuse")
	e.must("pull", ref)
	e.must("create", "--name", "user", ref, "true")
	wantError(t, e.nook("rmi", ref), "container")
	if !strings.Contains(e.must("images"), "inuse") {
		t.Fatal("the refused rmi removed the image anyway")
	}
	e.must("rmi", "-f", ref)
	if out := e.must("images"); strings.Contains(out, "inuse") {
		t.Errorf("rmi -f left the image:\n%s", out)
	}
}

// TestImageCommands: tag, images -q, images --format json, history, image
// prune -a.
func TestImageCommands(t *testing.T) {
	e := newEngine(t)
	e.must("run", "--rm", builtin, "true")
	e.must("tag", builtin, "mine:v1")
	if out := e.must("images"); !strings.Contains(out, "mine") || !strings.Contains(out, "v1") {
		t.Errorf("images after tag:\n%s", out)
	}
	ids := strings.Fields(e.must("images", "-q"))
	if len(ids) == 0 {
		t.Error("images -q printed nothing")
	}
	r := e.nook("images", "--format", "json")
	if r.Code != 0 || !jsonLines(r.Stdout) {
		t.Errorf("images --format json is not JSON: %s", r)
	}
	if out := e.must("history", "mine:v1"); out == "" {
		t.Error("history printed nothing")
	}
	e.must("rmi", "mine:v1")
	if out := e.must("images"); strings.Contains(out, "mine") {
		t.Errorf("rmi mine:v1 left it:\n%s", out)
	}
	if r := e.nookIn(strings.NewReader("y\n"), "image", "prune", "-a"); r.Code != 0 {
		t.Fatal(r)
	}
	if out := e.must("images", "-q"); out != "" {
		t.Errorf("image prune -a with no containers left: %q", out)
	}
}

// jsonLines reports whether s is a JSON value or one JSON value a line.
func jsonLines(s string) bool {
	if json.Valid([]byte(s)) {
		return true
	}
	for _, l := range bytes.Split(bytes.TrimSpace([]byte(s)), []byte("\n")) {
		if !json.Valid(l) {
			return false
		}
	}
	return strings.TrimSpace(s) != ""
}
