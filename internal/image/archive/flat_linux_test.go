package archive

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestApplyFlatWhiteouts(t *testing.T) {
	base := []ent{
		file("a", "a"), dir("d/"), file("d/x", "x"), dir("d/sub/"), file("d/sub/y", "y"),
		dir("e/"), file("e/f", "f"), file("e/g", "g"), dir("o/"), dir("o/p/"), file("o/p/q", "q"), file("o/r", "r"),
		symlink("link", "/e"),
	}
	tests := []struct {
		name  string
		top   []ent
		gone  []string
		kept  []string
		ls    map[string][]string // directory -> its exact contents
		check func(t *testing.T, root string)
	}{
		{
			name: "whiteout removes a file",
			top:  []ent{file(".wh.a", "")},
			gone: []string{"a"},
			kept: []string{"d/x", "e/f"},
		},
		{
			name: "whiteout removes a directory tree",
			top:  []ent{file(".wh.d", "")},
			gone: []string{"d"},
		},
		{
			name: "whiteout of a missing name is fine",
			top:  []ent{file("e/.wh.nothing", ""), file("nodir/.wh.x", "")},
			kept: []string{"e/f"},
			gone: []string{"nodir"},
		},
		{
			name: "whiteout through a symlink acts inside",
			top:  []ent{file("link/.wh.f", "")},
			gone: []string{"e/f"},
			kept: []string{"e/g", "link"},
		},
		{
			name: "opaque directory loses its lower contents",
			top:  []ent{dir("d/"), file("d/.wh..wh..opq", ""), file("d/new", "n")},
			ls:   map[string][]string{"d": {"new"}},
		},
		{
			name: "opaque keeps what the same layer wrote before it",
			top:  []ent{dir("o/"), dir("o/p/"), file("o/p/mine", "m"), file("o/.wh..wh..opq", "")},
			ls:   map[string][]string{"o": {"p"}, "o/p": {"mine"}},
		},
		{
			name: "whiteout does not remove what the same layer wrote",
			top:  []ent{file("e/new", "n"), file("e/.wh.new", ""), file("e/.wh.f", "")},
			ls:   map[string][]string{"e": {"g", "new"}},
		},
		{
			name: "replace a directory with a file and a file with a directory",
			top:  []ent{file("d", "now a file"), dir("a/"), file("a/in", "i")},
			kept: []string{"a/in"},
			check: func(t *testing.T, root string) {
				if b, _ := os.ReadFile(filepath.Join(root, "d")); string(b) != "now a file" {
					t.Errorf("d = %q", b)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, root := sandbox(t)
			if _, err := ApplyFlat(root, bytes.NewReader(layer(t, base...)), Options{}); err != nil {
				t.Fatalf("base layer: %v", err)
			}
			if _, err := ApplyFlat(root, bytes.NewReader(layer(t, tt.top...)), Options{}); err != nil {
				t.Fatalf("top layer: %v", err)
			}
			for _, p := range tt.gone {
				if exists(filepath.Join(root, p)) {
					t.Errorf("%s still exists", p)
				}
			}
			for _, p := range tt.kept {
				if !exists(filepath.Join(root, p)) {
					t.Errorf("%s is gone", p)
				}
			}
			for d, want := range tt.ls {
				es, err := os.ReadDir(filepath.Join(root, d))
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, e := range es {
					got = append(got, e.Name())
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s holds %v, want %v", d, got, want)
				}
			}
			if tt.check != nil {
				tt.check(t, root)
			}
			filepath.Walk(root, func(p string, _ os.FileInfo, _ error) error {
				if filepath.Base(p)[:min(4, len(filepath.Base(p)))] == whiteoutPrefix {
					t.Errorf("whiteout entry %s written", p)
				}
				return nil
			})
		})
	}
}

// TestTarRoundTrip checks that Tar is the inverse of Apply, and that the
// overlay form of a layer, archived with Tar and flattened with ApplyFlat,
// has the effect of the original layer.
func TestTarRoundTrip(t *testing.T) {
	needRoot(t) // whiteouts need trusted xattrs, ownership needs chown
	ents := []ent{
		dirEnt("./", 0o755), dirEnt("bin/", 0o755), fileEnt("bin/sh", "#!", 0o4755, 0, 0),
		hardlink("bin/sh2", "bin/sh"), symlink("bin/sh3", "sh"), dirEnt("home/", 0o755),
		fileEnt("home/u", "u", 0o600, 1000, 1000), file(".wh.gone", ""), dirEnt("opq/", 0o700),
		file("opq/.wh..wh..opq", ""), file("opq/x", "x"),
	}
	ents[2].PAXRecords = map[string]string{"SCHILY.xattr.user.k": "v"}
	_, overlayForm := sandbox(t)
	if _, err := Apply(overlayForm, bytes.NewReader(layer(t, ents...)), Options{}); err != nil {
		t.Fatal(err)
	}

	// Apply(Tar(Apply(layer))) == Apply(layer).
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(Tar(overlayForm, pw, Options{})) }()
	again := filepath.Join(t.TempDir(), "again")
	if err := os.Mkdir(again, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(again, pr, Options{}); err != nil {
		t.Fatal(err)
	}
	if err := diffTrees(snapshot(t, overlayForm, true), snapshot(t, again, true)); err != nil {
		t.Errorf("Apply(Tar(tree)) differs from tree:\n%v", err)
	}

	// ApplyFlat(Tar(overlay form)) == ApplyFlat(layer), on the same base.
	base := layer(t, file("gone", "g"), dir("opq/"), file("opq/old", "o"), file("kept", "k"))
	flatA, flatB := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	for _, d := range []string{flatA, flatB} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := ApplyFlat(d, bytes.NewReader(base), Options{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ApplyFlat(flatA, bytes.NewReader(layer(t, ents...)), Options{}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Tar(overlayForm, &buf, Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ApplyFlat(flatB, &buf, Options{}); err != nil {
		t.Fatal(err)
	}
	a, b := snapshot(t, flatA, false), snapshot(t, flatB, false)
	if err := diffTrees(a, b); err != nil {
		t.Errorf("flattening the overlay form differs from flattening the layer:\n%v", err)
	}
	for _, p := range []string{"gone", "opq/old"} {
		if _, ok := a[p]; ok {
			t.Errorf("%s survived its whiteout", p)
		}
	}
}

func dirEnt(name string, mode int64) ent { return ent{Header: dirHeader(name, mode)} }

func fileEnt(name, body string, mode int64, uid, gid int) ent {
	e := file(name, body)
	e.Mode, e.Uid, e.Gid = mode, uid, gid
	return e
}
