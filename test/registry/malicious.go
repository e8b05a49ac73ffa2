package registry

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// MaliciousKinds are the kinds PushMalicious knows.
var MaliciousKinds = []string{"dotdot", "abs-symlink", "rel-symlink", "hardlink-out", "abs-path"}

// Trap is a malicious image and the place on the host it aims at.
type Trap struct {
	// Ref is the image's reference.
	Ref string
	// Kind is the attack (one of MaliciousKinds).
	Kind string
	// Dir is a host directory made for the attack: the escape would leave a
	// file in it, or, for hardlink-out, change or link Dir/target.
	Dir string
}

// original is Dir/target's content, which no extraction may change.
const original = "original\n"

// up climbs from any extraction directory to / (extra ".." at / stay at /).
var up = strings.Repeat("../", 40)

// PushMalicious pushes a one-layer image whose layer tries to write outside
// the directory it is extracted into, and returns the trap. Every kind aims
// at a fresh host directory (Trap.Dir) so a test can tell afterwards whether
// the attack worked (Trap.Sprung) without putting anything of the host's at
// risk. The layer starts with a few harmless entries (etc/, etc/hostname),
// then:
//
//   - dotdot: a file named ../../(...)/DIR/pwned;
//   - abs-symlink: evil -> DIR (absolute), then the file evil/pwned;
//   - rel-symlink: evil -> ../../(...)/ (reaching /), then evil/DIR/pwned;
//   - hardlink-out: link hardlinked to ../../(...)/DIR/target, then a
//     regular file link with new content (an extractor that opens the link
//     rather than replacing it writes through to DIR/target);
//   - abs-path: a file named /DIR/pwned.
func PushMalicious(t testing.TB, reg *Registry, repo, kind string) *Trap {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "target"), []byte(original), 0o644); err != nil {
		t.Fatal(err)
	}
	rel := strings.TrimPrefix(dir, "/") // DIR without the leading slash
	entries := []Entry{Dir("etc/", 0), File("etc/hostname", "malicious\n", 0)}
	switch kind {
	case "dotdot":
		entries = append(entries, File(up+rel+"/pwned", "pwned\n", 0))
	case "abs-symlink":
		entries = append(entries, Symlink("evil", dir), File("evil/pwned", "pwned\n", 0))
	case "rel-symlink":
		entries = append(entries, Symlink("evil", up), File("evil/"+rel+"/pwned", "pwned\n", 0))
	case "hardlink-out":
		entries = append(entries, Hardlink("link", up+rel+"/target"), File("link", "pwned\n", 0))
	case "abs-path":
		entries = append(entries, File(dir+"/pwned", "pwned\n", 0))
	default:
		t.Fatalf("PushMalicious: unknown kind %q (want one of %v)", kind, MaliciousKinds)
	}
	img, err := image(dockerTypes, "amd64", []string{"sh"}, layerSpec{createdBy: "malicious " + kind, entries: entries})
	if err != nil {
		t.Fatal(err)
	}
	return &Trap{Ref: push(t, reg, repo, img), Kind: kind, Dir: dir}
}

// Sprung describes what the attack did to the host, or returns "" if
// Trap.Dir is as it was made: holding only "target", unchanged, with one
// link.
func (tr *Trap) Sprung() string {
	var found []string
	ents, err := os.ReadDir(tr.Dir)
	if err != nil {
		return fmt.Sprintf("reading %s: %v", tr.Dir, err)
	}
	for _, e := range ents {
		if e.Name() != "target" {
			found = append(found, fmt.Sprintf("%s was created", filepath.Join(tr.Dir, e.Name())))
		}
	}
	target := filepath.Join(tr.Dir, "target")
	if b, err := os.ReadFile(target); err != nil || string(b) != original {
		found = append(found, fmt.Sprintf("%s was changed: %q, %v", target, b, err))
	}
	if fi, err := os.Lstat(target); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink != 1 {
			found = append(found, fmt.Sprintf("%s has %d links: a hardlink to it was made", target, st.Nlink))
		}
	}
	return strings.Join(found, "; ")
}
