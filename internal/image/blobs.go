package image

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
)

// tmpPrefix names temporary files and directories; the pid lets cleanTemps tell leftovers of dead
// processes from work in progress.
func tmpPrefix() string { return ".tmp-" + strconv.Itoa(os.Getpid()) + "-" }

// parseDigest parses a sha256 digest from untrusted input; the hex becomes a file name, so anything
// else is refused.
func parseDigest(s string) (v1.Hash, error) {
	h, err := v1.NewHash(s)
	if err != nil || h.Algorithm != "sha256" || len(h.Hex) != 64 {
		return v1.Hash{}, fmt.Errorf("invalid digest %q", s)
	}
	return h, nil
}

func (s *Store) blobPath(d v1.Hash) string {
	return filepath.Join(s.root, "blobs", "sha256", d.Hex)
}

func (s *Store) hasBlob(d v1.Hash) bool {
	_, err := os.Stat(s.blobPath(d))
	return err == nil
}

func (s *Store) openBlob(d v1.Hash) (*os.File, error) {
	f, err := os.Open(s.blobPath(d))
	if err != nil {
		return nil, fmt.Errorf("opening blob %s: %w", d, err)
	}
	return f, nil
}

func (s *Store) readBlob(d v1.Hash) ([]byte, error) {
	b, err := os.ReadFile(s.blobPath(d))
	if err != nil {
		return nil, fmt.Errorf("reading blob %s: %w", d, err)
	}
	return b, nil
}

// putBlob stores b and returns its digest.
func (s *Store) putBlob(b []byte) (v1.Hash, error) {
	sum := sha256.Sum256(b)
	d := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
	return d, s.writeBlob(d, int64(len(b)), bytes.NewReader(b))
}

// writeBlob stores the content of r as blob d: into a temporary file in the blob directory, checked
// against d and size (size < 0: unknown), synced, then renamed into place. A blob already present was
// verified when it was written and is not fetched again.
func (s *Store) writeBlob(d v1.Hash, size int64, r io.Reader) error {
	if s.hasBlob(d) {
		return nil
	}
	return s.storeBlob(d, size, r)
}

// storeBlob is writeBlob without the shortcut: it reads all of r, even when the blob is there
// already (another pull stored it meanwhile), for a caller that tees r into an unpacker.
func (s *Store) storeBlob(d v1.Hash, size int64, r io.Reader) error {
	w, err := s.newBlobWriter()
	if err != nil {
		return err
	}
	defer w.discard()
	// A larger buffer than io.Copy's 32 KiB: a 30 MB layer is then read from the registry's
	// connection and written to the file in a few hundred calls instead of a thousand.
	if _, err := io.CopyBuffer(w, r, make([]byte, 256<<10)); err != nil {
		return fmt.Errorf("writing blob %s: %w", d, err)
	}
	if size >= 0 && w.n != size {
		return fmt.Errorf("writing blob %s: size mismatch: got %d bytes, want %d", d, w.n, size)
	}
	_, err = w.commit(&d)
	return err
}

// blobWriter writes a blob whose digest is computed while writing.
type blobWriter struct {
	s    *Store
	f    *os.File
	h    hashWriter
	n    int64
	done bool
}

type hashWriter interface {
	io.Writer
	Sum([]byte) []byte
}

func (s *Store) newBlobWriter() (*blobWriter, error) {
	f, err := os.CreateTemp(filepath.Join(s.root, "blobs", "sha256"), tmpPrefix()+"*")
	if err != nil {
		return nil, fmt.Errorf("creating blob: %w", err)
	}
	return &blobWriter{s: s, f: f, h: sha256.New()}, nil
}

func (w *blobWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.h.Write(p[:n])
	w.n += int64(n)
	return n, err
}

// commit verifies the digest (if want is not nil) and moves the blob into place.
func (w *blobWriter) commit(want *v1.Hash) (v1.Descriptor, error) {
	d := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(w.h.Sum(nil))}
	if want != nil && d != *want {
		return v1.Descriptor{}, fmt.Errorf("writing blob %s: digest mismatch: content is %s", *want, d)
	}
	if err := w.f.Sync(); err != nil {
		return v1.Descriptor{}, fmt.Errorf("syncing blob %s: %w", d, err)
	}
	if err := w.f.Close(); err != nil {
		return v1.Descriptor{}, fmt.Errorf("closing blob %s: %w", d, err)
	}
	if err := os.Rename(w.f.Name(), w.s.blobPath(d)); err != nil {
		return v1.Descriptor{}, fmt.Errorf("storing blob %s: %w", d, err)
	}
	w.done = true
	syncDir(filepath.Dir(w.f.Name()))
	return v1.Descriptor{Digest: d, Size: w.n}, nil
}

// discard removes the temporary file unless the blob was committed.
func (w *blobWriter) discard() {
	if !w.done {
		w.f.Close()
		os.Remove(w.f.Name())
	}
}

// writeFileAtomic replaces path with b: temporary file in the same directory, fsync, rename, fsync
// of the directory, so readers see the old or the new content and a crash leaves one of them.
func writeFileAtomic(path string, b []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), tmpPrefix()+"*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", filepath.Base(path), err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", filepath.Base(path), err)
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", filepath.Base(path), err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("syncing %s: %w", filepath.Base(path), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", filepath.Base(path), err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("replacing %s: %w", filepath.Base(path), err)
	}
	syncDir(filepath.Dir(path))
	return nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// cleanTemps removes temporary files and directories left by processes that no longer run (a pull
// killed half way). Those of live processes are work in progress and are left alone.
func (s *Store) cleanTemps() {
	for _, dir := range []string{filepath.Join(s.root, "blobs", "sha256"), filepath.Join(s.root, "l"),
		filepath.Join(s.root, "images"), s.root} {
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			rest, ok := strings.CutPrefix(e.Name(), ".tmp-")
			if !ok {
				continue
			}
			pidStr, _, _ := strings.Cut(rest, "-")
			pid, err := strconv.Atoi(pidStr)
			if err != nil || pid <= 0 || !errors.Is(unix.Kill(pid, 0), unix.ESRCH) {
				continue
			}
			s.log.Debug("removing leftover temporary file", "path", filepath.Join(dir, e.Name()))
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}

func sortStrings(s []string) { slices.Sort(s) }
