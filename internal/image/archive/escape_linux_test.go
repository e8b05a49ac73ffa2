package archive

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestApplyEscapes feeds malicious layers to Apply and ApplyFlat. Each either
// fails or lands inside the layer directory; sandbox checks that nothing
// outside changed, and the host's /etc/passwd must not gain a link.
func TestApplyEscapes(t *testing.T) {
	var passwd unix.Stat_t
	if err := unix.Stat("/etc/passwd", &passwd); err != nil {
		t.Fatal(err)
	}
	const (
		ok     = "ok"
		escape = "escape" // ErrEscape
		fails  = "fails"  // any error
	)
	tests := []struct {
		name string
		// ents builds the layer; parent is the sandbox directory that
		// holds the layer directory and must stay untouched.
		ents  func(parent string) []ent
		want  string
		check func(t *testing.T, root string)
	}{
		{
			name: "dot-dot entry",
			ents: func(string) []ent { return []ent{file("../keep", "overwritten")} },
			want: escape,
		},
		{
			name: "dot-dot in the middle",
			ents: func(string) []ent { return []ent{file("a/../../keep", "overwritten")} },
			want: escape,
		},
		{
			name: "dot-dot that stays inside is fine",
			ents: func(string) []ent { return []ent{file("a/b/../../c", "c")} },
			want: ok,
			check: func(t *testing.T, root string) {
				if !exists(filepath.Join(root, "c")) {
					t.Error("c missing")
				}
			},
		},
		{
			name: "absolute name is made relative",
			ents: func(parent string) []ent { return []ent{file(parent+"/keep", "overwritten")} },
			want: ok,
			check: func(t *testing.T, root string) {
				if b, err := os.ReadFile(filepath.Join(root, filepath.Dir(root), "keep")); err != nil || string(b) != "overwritten" {
					t.Errorf("absolute entry not unpacked inside: %q, %v", b, err)
				}
			},
		},
		{
			name: "absolute symlink to the parent, then a file through it",
			ents: func(parent string) []ent { return []ent{symlink("a", parent), file("a/keep", "overwritten")} },
			// a resolves to root/<parent>, which does not exist: refused.
			want: fails,
		},
		{
			name: "absolute symlink to /, then a file through it",
			ents: func(string) []ent { return []ent{symlink("a", "/"), file("a/evil", "x")} },
			want: ok,
			check: func(t *testing.T, root string) {
				if !exists(filepath.Join(root, "evil")) {
					t.Error("a/evil not written to root/evil")
				}
			},
		},
		{
			name: "relative symlink escaping, then a file through it",
			ents: func(string) []ent {
				return []ent{symlink("a", "../../../../../../.."), file("a/keep", "overwritten"), file("a/new", "x")}
			},
			want: ok,
			check: func(t *testing.T, root string) {
				if !exists(filepath.Join(root, "keep")) || !exists(filepath.Join(root, "new")) {
					t.Error("files through the symlink not written at the layer root")
				}
			},
		},
		{
			name: "symlink chain to the outside, then a file through it",
			ents: func(string) []ent {
				return []ent{symlink("a", "b"), symlink("b", "c/d"), dir("c/"), symlink("c/d", "../.."), file("a/x/y", "y")}
			},
			want: ok,
			check: func(t *testing.T, root string) {
				if !exists(filepath.Join(root, "x/y")) {
					t.Error("a/x/y not written to root/x/y")
				}
			},
		},
		{
			name: "symlink loop",
			ents: func(string) []ent { return []ent{symlink("a", "b"), symlink("b", "a"), file("a/x", "x")} },
			want: fails,
		},
		{
			name: "hardlink to /etc/passwd",
			ents: func(string) []ent { return []ent{hardlink("pw", "/etc/passwd")} },
			want: fails,
		},
		{
			name: "hardlink to /etc/passwd resolves to the layer's own",
			ents: func(string) []ent { return []ent{file("etc/passwd", "root:x:0:0"), hardlink("pw", "/etc/passwd")} },
			want: ok,
			check: func(t *testing.T, root string) {
				a, b := lstat(t, filepath.Join(root, "etc/passwd")), lstat(t, filepath.Join(root, "pw"))
				if a.Ino != b.Ino {
					t.Error("pw is not linked to the layer's etc/passwd")
				}
			},
		},
		{
			name: "hardlink to ../outside",
			ents: func(string) []ent { return []ent{hardlink("k", "../keep")} },
			want: escape,
		},
		{
			name: "hardlink through an absolute symlink",
			ents: func(parent string) []ent { return []ent{symlink("l", parent), hardlink("k", "l/keep")} },
			want: fails,
		},
		{
			name: "hardlink through a relative symlink",
			ents: func(string) []ent { return []ent{symlink("l", "../../.."), hardlink("k", "l/etc/passwd")} },
			want: fails,
		},
		{
			name: "hardlink to a symlink pointing out links the symlink",
			ents: func(string) []ent { return []ent{symlink("s", "/etc/passwd"), hardlink("h", "s")} },
			want: ok,
			check: func(t *testing.T, root string) {
				if st := lstat(t, filepath.Join(root, "h")); st.Mode&unix.S_IFMT != unix.S_IFLNK {
					t.Errorf("h mode %o, want a symlink", st.Mode)
				}
			},
		},
		{
			name: "hardlink placed through a symlink",
			ents: func(parent string) []ent { return []ent{file("f", "f"), symlink("l", parent), hardlink("l/keep", "f")} },
			want: fails,
		},
		{
			name: "directory replaced by a symlink before its mode is set",
			ents: func(parent string) []ent {
				return []ent{{Header: dirHeader("d/", 0o777)}, symlink("d", parent), {Header: dirHeader("e/", 0o777)}, symlink("e", "..")}
			},
			want: ok,
		},
		{
			name: "symlinked directory pointed elsewhere between two files",
			ents: func(string) []ent {
				return []ent{dir("x/b/"), dir("y/b/"), symlink("a", "x"), file("a/b/f1", "1"), symlink("a", "y"), file("a/b/f2", "2")}
			},
			want: ok,
			check: func(t *testing.T, root string) {
				if !exists(filepath.Join(root, "x/b/f1")) || !exists(filepath.Join(root, "y/b/f2")) || exists(filepath.Join(root, "x/b/f2")) {
					t.Error("a/b/f2 not written through the new symlink to y/b/f2")
				}
			},
		},
		{
			name: "directory reached through its own child, which is then replaced",
			ents: func(string) []ent {
				// p/q/p is p, through the symlink p/q -> ..; once p/q is
				// a file, p/q/p/f2 has no directory to go to.
				return []ent{dir("p/"), symlink("p/q", ".."), file("p/q/p/f1", "1"), file("p/q/p/q", "x"), file("p/q/p/f2", "2")}
			},
			want: fails,
			check: func(t *testing.T, root string) {
				if exists(filepath.Join(root, "p/f2")) {
					t.Error("p/q/p/f2 written to p/f2 through a directory handle resolved before p/q changed")
				}
			},
		},
		{
			name: "directory replaced by a symlink to the outside between two files",
			ents: func(parent string) []ent {
				return []ent{dir("d/"), file("d/f1", "1"), symlink("d", parent), file("d/keep", "overwritten")}
			},
			// d resolves to root/<parent>, which does not exist: refused.
			want: fails,
		},
		{
			name: "whiteout through a symlink",
			ents: func(parent string) []ent { return []ent{symlink("l", parent), file("l/.wh.keep", "")} },
			want: fails, // Apply: the parent does not exist inside; ApplyFlat: nothing to delete
		},
		{
			name: "whiteout through a relative symlink",
			ents: func(string) []ent { return []ent{symlink("l", "../.."), file("l/.wh.keep", "")} },
			want: ok,
		},
		{
			name: "opaque through a symlink",
			ents: func(string) []ent { return []ent{symlink("l", "../.."), file("l/.wh..wh..opq", "")} },
			want: ok,
		},
		{
			name: "whiteout of dot-dot",
			ents: func(string) []ent { return []ent{file(".wh...", "")} },
			want: fails,
		},
		{
			name: "magic link",
			ents: func(string) []ent { return []ent{symlink("p", "/proc/self/root"), file("p/tmp/x", "x")} },
			want: fails,
		},
	}
	for _, tt := range tests {
		for _, flat := range []bool{false, true} {
			name := tt.name
			if flat {
				name += " (flat)"
			}
			t.Run(name, func(t *testing.T) {
				parent, root := sandbox(t)
				ents := tt.ents(parent)
				if !flat && os.Geteuid() != 0 && hasOpaque(ents) {
					t.Skip("needs root for the opaque xattr")
				}
				data := layer(t, ents...)
				apply := Apply
				if flat {
					apply = ApplyFlat
				}
				_, err := apply(root, bytes.NewReader(data), Options{})
				switch {
				case tt.want == ok && err != nil:
					t.Fatalf("got %v, want success", err)
				case tt.want == escape && !errors.Is(err, ErrEscape):
					t.Fatalf("got %v, want %v", err, ErrEscape)
				case tt.want == fails && err == nil:
					// ApplyFlat has nothing to delete for a whiteout
					// whose parent is missing; that is not a failure.
					if !(flat && strings.Contains(tt.name, "whiteout")) {
						t.Fatal("got success, want an error")
					}
				}
				if err != nil {
					t.Logf("refused: %v", err)
				}
				if tt.want == escape && !strings.Contains(err.Error(), "path escapes the layer") {
					t.Errorf("error %q does not say the path escapes", err)
				}
				if tt.check != nil {
					tt.check(t, root)
				}
				var now unix.Stat_t
				if err := unix.Stat("/etc/passwd", &now); err != nil || now.Nlink != passwd.Nlink || now.Ino != passwd.Ino {
					t.Errorf("/etc/passwd changed: nlink %d -> %d", passwd.Nlink, now.Nlink)
				}
			})
		}
	}
}

func TestEscapeErrorMessage(t *testing.T) {
	_, root := sandbox(t)
	_, err := Apply(root, bytes.NewReader(layer(t, file("../x", "x"))), Options{})
	if want := `layer entry "../x": path escapes the layer`; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func hasOpaque(ents []ent) bool {
	for _, e := range ents {
		if strings.HasSuffix(e.Name, opaqueName) {
			return true
		}
	}
	return false
}
