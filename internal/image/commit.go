package image

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// errMissing means a blob or layer an image being committed needs has gone: a concurrent Remove
// deleted something this image shares after it was checked. The caller fetches it again.
var errMissing = errors.New("content removed concurrently")

// newImage is an image whose blobs are all stored and whose layers are unpacked, ready to record.
type newImage struct {
	id          v1.Hash // config digest
	manifest    v1.Hash
	layers      []layerRef
	tags        []string // normalized references
	repoDigests []string
}

// commit records ni (or, if the image exists, updates its names) under the store lock.
func (s *Store) commit(ni newImage) (*Image, error) {
	var img *Image
	err := s.update(func(st *state) error {
		if err := s.checkContent(st, ni); err != nil {
			return err
		}
		rec, ok := st.images[ni.id.String()]
		if !ok {
			rec = &imageRecord{ID: ni.id.String(), Stored: time.Now().UTC()}
		}
		if rec.Manifest != ni.manifest.String() {
			// The same image arrived with another manifest (a load after a pull, say): keep the
			// newest and drop blobs only the old one used.
			old := *rec
			rec.Manifest, rec.Layers = ni.manifest.String(), ni.layers
			st.images[rec.ID] = rec
			if ok {
				garbage := unusedBlobs(st, &old)
				st.afterSave = append(st.afterSave, func() { s.removeBlobs(garbage) })
			}
		}
		for _, rd := range ni.repoDigests {
			if !slices.Contains(rec.RepoDigests, rd) {
				rec.RepoDigests = append(rec.RepoDigests, rd)
			}
		}
		st.putImage(rec)
		for _, t := range ni.tags {
			st.setTag(t, rec.ID)
		}
		var err error
		img, err = s.toImage(st, rec)
		return err
	})
	if err != nil {
		return nil, err
	}
	return img, nil
}

// checkContent verifies, under the lock, that everything ni refers to is present.
func (s *Store) checkContent(st *state, ni newImage) error {
	for _, d := range []v1.Hash{ni.id, ni.manifest} {
		if !s.hasBlob(d) {
			return fmt.Errorf("%w: blob %s", errMissing, d)
		}
	}
	for _, l := range ni.layers {
		d, err := parseDigest(l.Digest)
		if err != nil {
			return err
		}
		if !s.hasBlob(d) {
			return fmt.Errorf("%w: blob %s", errMissing, d)
		}
		ld, ok := st.layers[l.DiffID]
		if !ok {
			return fmt.Errorf("%w: layer %s", errMissing, l.DiffID)
		}
		if _, err := os.Stat(filepath.Join(s.root, ld.Dir)); err != nil {
			return fmt.Errorf("%w: layer %s", errMissing, l.DiffID)
		}
	}
	return nil
}

// blobsOf lists the blobs of rec: manifest, config and compressed layers.
func blobsOf(rec *imageRecord) []string {
	out := []string{rec.Manifest, rec.ID}
	for _, l := range rec.Layers {
		out = append(out, l.Digest)
	}
	return out
}

// unusedBlobs returns the blobs of rec that no image in st uses.
func unusedBlobs(st *state, rec *imageRecord) []string {
	used := map[string]bool{}
	for _, r := range st.images {
		for _, b := range blobsOf(r) {
			used[b] = true
		}
	}
	var out []string
	for _, b := range blobsOf(rec) {
		if !used[b] && !slices.Contains(out, b) {
			out = append(out, b)
		}
	}
	return out
}

func (s *Store) removeBlobs(digests []string) {
	for _, b := range digests {
		d, err := parseDigest(b)
		if err != nil {
			continue
		}
		if err := os.Remove(s.blobPath(d)); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Warn("removing blob", "digest", b, "err", err)
		}
	}
}
