package image

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// LayerDirs returns the unpacked layer directories of img, bottom to top, as absolute paths. A layer
// that occurs more than once is listed only at its topmost position: an identical copy above it
// shadows everything the lower copy provides, and overlayfs refuses some repeated lower directories.
func (s *Store) LayerDirs(img *Image) ([]string, error) {
	var dirs []string
	err := s.view(func(st *state) error {
		rec, ok := st.images[img.ID]
		if !ok {
			return fmt.Errorf("%w: %s", ErrNotFound, img.ID)
		}
		seen := map[string]bool{}
		for i := len(rec.Layers) - 1; i >= 0; i-- {
			id := rec.Layers[i].DiffID
			if seen[id] {
				continue
			}
			seen[id] = true
			l, ok := st.layers[id]
			if !ok {
				return fmt.Errorf("image %s: layer %s is not unpacked", shortID(img.ID), id)
			}
			dirs = append(dirs, filepath.Join(s.root, l.Dir))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, j := 0, len(dirs)-1; i < j; i, j = i+1, j-1 {
		dirs[i], dirs[j] = dirs[j], dirs[i]
	}
	return dirs, nil
}

// hasLayer reports whether the layer diffID is unpacked.
func (s *Store) hasLayer(diffID v1.Hash) bool {
	found := false
	s.view(func(st *state) error {
		if l, ok := st.layers[diffID.String()]; ok {
			_, err := os.Stat(filepath.Join(s.root, l.Dir))
			found = err == nil
		}
		return nil
	})
	return found
}

// unpackBlob unpacks the stored blob as layer diffID unless that layer is already unpacked.
func (s *Store) unpackBlob(blob, diffID v1.Hash) error {
	if s.hasLayer(diffID) {
		return nil
	}
	f, err := s.openBlob(blob)
	if err != nil {
		return err
	}
	defer f.Close()
	tmp, size, err := s.unpackVerified(f, blob, diffID)
	if err != nil {
		return err
	}
	return s.commitLayer(tmp, diffID, size)
}

// unpackVerified unpacks the (compressed) layer blob read from r into a new temporary
// directory, checks that its content is diffID, and returns the directory for commitLayer.
// Decompression runs in a goroutine of its own, a stage ahead of the tar unpacking.
func (s *Store) unpackVerified(r io.Reader, blob, diffID v1.Hash) (tmp string, size int64, err error) {
	zr, err := decompress(r)
	if err != nil {
		return "", 0, fmt.Errorf("unpacking layer %s: %w", blob, err)
	}
	defer zr.Close()
	pr, pw := io.Pipe()
	go func() {
		_, err := io.CopyBuffer(pw, zr, make([]byte, 256<<10))
		pw.CloseWithError(err)
	}()
	got, size, tmp, err := s.unpackStream(pr)
	pr.CloseWithError(errUnpackDone)
	if err != nil {
		return "", 0, fmt.Errorf("unpacking layer %s: %w", blob, err)
	}
	if got != diffID {
		os.RemoveAll(tmp)
		return "", 0, fmt.Errorf("unpacking layer %s: content is %s, config says %s", blob, got, diffID)
	}
	return tmp, size, nil
}

// unpackStream unpacks the uncompressed layer tar r into a new temporary directory and returns the
// layer's diffID (digest of the tar stream) and unpacked size. The caller commits or removes tmp.
func (s *Store) unpackStream(r io.Reader) (diffID v1.Hash, size int64, tmp string, err error) {
	tmp, err = os.MkdirTemp(filepath.Join(s.root, "l"), tmpPrefix()+"*")
	if err != nil {
		return v1.Hash{}, 0, "", fmt.Errorf("creating layer directory: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return v1.Hash{}, 0, "", fmt.Errorf("creating layer directory: %w", err)
	}
	h := sha256.New()
	tr := io.TeeReader(r, h)
	size, err = applyLayer(tmp, tr, s.log)
	if err == nil {
		// The tar reader stops at the end-of-archive marker; the digest covers the padding after it.
		_, err = io.Copy(io.Discard, tr)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return v1.Hash{}, 0, "", err
	}
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}, size, tmp, nil
}

// commitLayer moves the unpacked directory tmp into place as layer diffID. If another pull unpacked
// the same layer meanwhile, tmp is dropped.
func (s *Store) commitLayer(tmp string, diffID v1.Hash, size int64) error {
	drop := false
	err := s.update(func(st *state) error {
		if l, ok := st.layers[diffID.String()]; ok {
			if _, err := os.Stat(filepath.Join(s.root, l.Dir)); err == nil {
				drop = true
				return nil
			}
		}
		rel := pickLayerDir(st, diffID)
		abs := filepath.Join(s.root, rel)
		// Not in layers.json, so not in use: a leftover of an interrupted removal.
		if err := os.RemoveAll(abs); err != nil {
			return fmt.Errorf("storing layer %s: %w", diffID, err)
		}
		if err := os.Rename(tmp, abs); err != nil {
			return fmt.Errorf("storing layer %s: %w", diffID, err)
		}
		st.layers[diffID.String()] = &layerDir{Dir: rel, Size: size}
		st.changed.layers = true
		s.log.Debug("unpacked layer", "diffID", diffID.String(), "dir", abs, "size", size)
		return nil
	})
	if drop || err != nil {
		os.RemoveAll(tmp)
	}
	return err
}

// pickLayerDir chooses the shortest unused name l/<hex prefix> for diffID: 12 hex digits unless
// another layer already has that prefix.
func pickLayerDir(st *state, diffID v1.Hash) string {
	used := map[string]bool{}
	for id, l := range st.layers {
		if id != diffID.String() {
			used[l.Dir] = true
		}
	}
	for n := 12; n < len(diffID.Hex); n += 4 {
		if rel := filepath.Join("l", diffID.Hex[:n]); !used[rel] {
			return rel
		}
	}
	return filepath.Join("l", diffID.Hex)
}

// decompress returns the tar stream inside r, which may be plain, gzip, zstd, bzip2 or xz
// (xz needs the xz program).
func decompress(r io.Reader) (io.ReadCloser, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(6)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("reading layer: %w", err)
	}
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("reading gzip stream: %w", err)
		}
		return zr, nil
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("reading zstd stream: %w", err)
		}
		return zr.IOReadCloser(), nil
	case bytes.HasPrefix(magic, []byte("BZh")):
		return io.NopCloser(bzip2.NewReader(br)), nil
	case bytes.HasPrefix(magic, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		return xzReader(br)
	}
	return io.NopCloser(br), nil
}

// xzReader decompresses with xz(1): Go's standard library has no xz and it is rare enough in
// practice (docker export | xz) not to warrant a dependency.
func xzReader(r io.Reader) (io.ReadCloser, error) {
	cmd := exec.Command("xz", "-dc")
	cmd.Stdin = r
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("starting xz: %w", err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting xz (needed for xz-compressed tarballs): %w", err)
	}
	return &cmdReader{ReadCloser: out, cmd: cmd, stderr: &stderr}, nil
}

type cmdReader struct {
	io.ReadCloser
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	waited bool
}

func (c *cmdReader) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) && !c.waited {
		c.waited = true
		if werr := c.cmd.Wait(); werr != nil {
			return n, fmt.Errorf("xz: %w: %s", werr, bytes.TrimSpace(c.stderr.Bytes()))
		}
	}
	return n, err
}

func (c *cmdReader) Close() error {
	c.ReadCloser.Close()
	if !c.waited {
		c.waited = true
		c.cmd.Process.Kill()
		c.cmd.Wait()
	}
	return nil
}
