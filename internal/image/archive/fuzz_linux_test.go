package archive

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"path"
	"strings"
	"testing"
)

// FuzzApply feeds arbitrary bytes to Apply and then ApplyFlat on the same
// directory. Errors are fine; the invariant is that nothing appears,
// changes or disappears outside the layer directory (sandbox checks).
// Header checksums are recomputed first: otherwise almost every mutation of
// a header field ends at archive/tar's checksum test and never reaches the
// code under test.
func FuzzApply(f *testing.F) {
	seeds := [][]ent{
		{file("a", "x"), dir("d/"), file("d/f", "y"), symlink("s", "d"), hardlink("h", "a")},
		{file("../x", "x")},
		{symlink("a", "/"), file("a/x", "x"), symlink("b", "../../.."), file("b/keep", "k")},
		{symlink("a", "b"), symlink("b", "../.."), file("a/c/d", "d"), hardlink("e", "a/c/d")},
		{dir("d/"), symlink("d", ".."), dir("d/"), file("d/.wh.keep", "")},
		{dir("o/"), file("o/.wh..wh..opq", ""), file("o/x", "x"), file(".wh.o", ""), file("l/.wh.keep", "")},
		{{Header: tar.Header{Name: "dev/n", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}}, {Header: tar.Header{Name: "p", Typeflag: tar.TypeFifo}}},
		{{Header: tar.Header{Name: "x", Typeflag: tar.TypeReg, PAXRecords: map[string]string{"SCHILY.xattr.user.a": "b", "SCHILY.xattr.trusted.overlay.redirect": "/etc"}}}},
		{symlink("s", "/etc/passwd"), hardlink("h", "s"), hardlink("h2", "../keep"), hardlink("h3", "s/..")},
	}
	for _, s := range seeds {
		f.Add(layer(f, s...))
	}
	f.Add(gnuSparse(1<<40, 1<<30))
	// Sparse entries are cheap to describe and costly to expand; keep each
	// run short.
	maxSparse = 1 << 20
	f.Fuzz(func(t *testing.T, data []byte) {
		_, root := sandbox(t)
		data = fixChecksums(data)
		Apply(root, bytes.NewReader(data), Options{})
		ApplyFlat(root, bytes.NewReader(data), Options{})
	})
}

// fixChecksums recomputes the checksum of every 512-byte block that carries
// a ustar or GNU magic.
func fixChecksums(data []byte) []byte {
	data = bytes.Clone(data)
	for off := 0; off+512 <= len(data); off += 512 {
		h := data[off : off+512]
		if !bytes.Equal(h[257:262], []byte("ustar")) {
			continue
		}
		copy(h[148:156], "        ")
		sum := 0
		for _, b := range h {
			sum += int(b)
		}
		copy(h[148:156], fmt.Sprintf("%06o\x00 ", sum))
	}
	return data
}

// FuzzApplyEntries is FuzzApply with inputs that are always valid tar: the
// bytes choose entries (kind, name, link target, mode) from a pool of
// hostile names, so that every mutation exercises the path rules rather than
// the tar parser. "$P" in the pool stands for the sandbox directory that
// must stay untouched.
func FuzzApplyEntries(f *testing.F) {
	f.Add([]byte{2, 7, 9, 0, 0, 8, 0, 0})
	f.Add([]byte{2, 4, 1, 0, 3, 10, 12, 0, 4, 11, 0, 0, 5, 4, 0, 0})
	f.Fuzz(func(t *testing.T, program []byte) {
		parent, root := sandbox(t)
		data := layer(t, entries(program, parent)...)
		Apply(root, bytes.NewReader(data), Options{})
		ApplyFlat(root, bytes.NewReader(data), Options{})
	})
}

// TestApplyRandomLayers runs FuzzApplyEntries's body on random programs, so
// that plain `go test` covers many hostile combinations.
func TestApplyRandomLayers(t *testing.T) {
	for i, program := range randomPrograms(1, 300, 12) {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			parent, root := sandbox(t)
			data := layer(t, entries(program, parent)...)
			Apply(root, bytes.NewReader(data), Options{})
			ApplyFlat(root, bytes.NewReader(data), Options{})
		})
	}
}

// TestApplyReuseParent runs FuzzApplyReuseParent's body on random programs.
func TestApplyReuseParent(t *testing.T) {
	for i, program := range randomPrograms(3, 300, 16) {
		t.Run(fmt.Sprint(i), func(t *testing.T) { checkReuseParent(t, program) })
	}
}

// randomPrograms returns n fuzz programs of 1 to maxOps 4-byte operations,
// the same ones for the same seed.
func randomPrograms(seed uint64, n, maxOps int) [][]byte {
	r := rand.New(rand.NewPCG(seed, seed+1))
	out := make([][]byte, n)
	for i := range out {
		out[i] = make([]byte, 4*(1+r.IntN(maxOps)))
		for j := range out[i] {
			out[i][j] = byte(r.UintN(256))
		}
	}
	return out
}

// FuzzApplyReuseParent checks that reusing the last entry's directory handle
// (parentDir) gives the same trees and errors as resolving every entry's
// directory again, on hostile layers (FuzzApplyEntries's programs) applied
// with Apply and then ApplyFlat, so that no removal or replacement is missed.
func FuzzApplyReuseParent(f *testing.F) {
	// p/q -> .., then p/q/p/x, p/q/p/q (replacing the symlink), p/q/p/x again.
	f.Add([]byte{2, 26, 15, 0, 0, 28, 0, 0, 0, 27, 0, 0, 0, 28, 0, 0})
	f.Fuzz(checkReuseParent)
}

func checkReuseParent(t *testing.T, program []byte) {
	parent, root := sandbox(t)
	// The same entries for both runs: "$P" names the first sandbox, which
	// resolves inside either root alike.
	data := layer(t, entries(program, parent)...)
	run := func(root string, reuse bool) string {
		reuseParent = reuse
		defer func() { reuseParent = true }()
		var out []string
		for _, apply := range []func(string, io.Reader, Options) (int64, error){Apply, ApplyFlat} {
			n, err := apply(root, bytes.NewReader(data), Options{})
			out = append(out, fmt.Sprintf("%d %v", n, err))
		}
		return strings.ReplaceAll(strings.Join(out, "; "), root, "ROOT")
	}
	got := run(root, true)
	_, root2 := sandbox(t)
	want := run(root2, false)
	if got != want {
		t.Errorf("reusing the directory handle: %s\nresolving every time: %s", got, want)
	}
	if err := diffTrees(snapshot(t, root, false), snapshot(t, root2, false)); err != nil {
		t.Errorf("trees differ:\n%v", err)
	}
}

var namePool = []string{
	"a", "a/b", "a/b/c", "d/", "d/e", "s", "s/x", "s/y/z", "l", "l/keep",
	"../x", "a/../../x", "/abs", "/etc/passwd", "keep", "..", ".", "./",
	"$P", "$P/keep", "$P/new", "../keep", "/", "//", "a/../s/keep", "/proc/self/root",
	"p/q", "p/q/p/q", "p/q/p/x", // p/q -> .. makes p/q/p depend on its own child
}

// entries decodes a program: every four bytes are one entry.
func entries(program []byte, parent string) []ent {
	pick := func(b byte) string {
		return strings.ReplaceAll(namePool[int(b)%len(namePool)], "$P", parent)
	}
	var out []ent
	for i := 0; i+4 <= len(program); i += 4 {
		kind, name, target, mode := program[i], pick(program[i+1]), pick(program[i+2]), int64(program[i+3])<<4
		var e ent
		switch kind % 8 {
		case 0:
			e = file(strings.TrimRight(name, "/"), "content")
		case 1:
			e = dir(strings.TrimRight(name, "/") + "/")
		case 2:
			e = symlink(strings.TrimRight(name, "/"), target)
		case 3:
			e = hardlink(strings.TrimRight(name, "/"), target)
		case 4:
			e = file(path.Join(name, whiteoutPrefix+path.Base(target)), "")
		case 5:
			e = file(path.Join(name, opaqueName), "")
		case 6:
			e = ent{Header: tar.Header{Name: strings.TrimRight(name, "/"), Typeflag: tar.TypeFifo}}
		case 7:
			e = file(strings.TrimRight(name, "/"), "")
			e.PAXRecords = map[string]string{paxXattr + "user.x": "v", paxXattr + "trusted.overlay.redirect": target}
		}
		if e.Name == "" {
			continue
		}
		e.Mode |= mode & 0o7777
		out = append(out, e)
	}
	return out
}
