package image

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

var shortIDRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(?:sha256:)?[a-f0-9]{4,64}$`) })

// Get finds an image by reference ("alpine", "alpine:3", "host:5000/n:t", "name@sha256:..."), by ID
// or by an unambiguous ID prefix of at least 4 hex digits, with or without "sha256:".
func (s *Store) Get(ref string) (*Image, error) {
	img, err := s.get(ref)
	if errors.Is(err, ErrNotFound) && isDefault(ref) {
		return s.EnsureDefault() // the built-in image is made on first use
	}
	return img, err
}

// get is Get without making the built-in image.
func (s *Store) get(ref string) (*Image, error) {
	var img *Image
	err := s.view(func(st *state) error {
		rec, err := st.resolve(ref)
		if err != nil {
			return err
		}
		img, err = s.toImage(st, rec)
		return err
	})
	return img, err
}

// isDefault reports whether ref names the built-in image.
func isDefault(ref string) bool {
	r, err := ParseReference(ref)
	return err == nil && r.String() == DefaultImage
}

// List returns all images, newest first.
func (s *Store) List() ([]*Image, error) {
	var out []*Image
	err := s.view(func(st *state) error {
		for _, rec := range st.images {
			img, err := s.toImage(st, rec)
			if err != nil {
				return err
			}
			out = append(out, img)
		}
		return nil
	})
	slices.SortFunc(out, func(a, b *Image) int {
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, err
}

// History returns the image's build history, oldest first.
func (s *Store) History(img *Image) []v1.History { return img.Config.History }

// Tag gives the image src the additional name dst.
func (s *Store) Tag(src, dst string) error {
	r, err := ParseReference(dst)
	if err != nil {
		return err
	}
	if r.Digest != "" {
		return fmt.Errorf("tagging %s: refusing to create a tag with a digest reference: %s", src, dst)
	}
	if isDefault(src) {
		if _, err := s.EnsureDefault(); err != nil {
			return err
		}
	}
	return s.update(func(st *state) error {
		rec, err := st.resolve(src)
		if err != nil {
			return err
		}
		st.setTag(r.String(), rec.ID)
		return nil
	})
}

// Untag removes one name of an image: a tag, or for "name@sha256:..." a repo digest. The image
// itself stays, untagged if that was its last name.
func (s *Store) Untag(ref string) error {
	r, err := ParseReference(ref)
	if err != nil {
		return err
	}
	return s.update(func(st *state) error {
		if r.Digest == "" {
			if _, ok := st.tags[r.String()]; !ok {
				return fmt.Errorf("%w: %s", ErrNotFound, ref)
			}
			delete(st.tags, r.String())
			st.changed.tags = true
			return nil
		}
		rd := r.Name() + "@" + r.Digest
		for _, rec := range st.images {
			if i := slices.Index(rec.RepoDigests, rd); i >= 0 {
				rec.RepoDigests = slices.Delete(rec.RepoDigests, i, i+1)
				st.putImage(rec)
				return nil
			}
		}
		return fmt.Errorf("%w: %s", ErrNotFound, ref)
	})
}

// resolve finds the record for ref (see Get).
func (st *state) resolve(ref string) (*imageRecord, error) {
	if rec, ok := st.images[ref]; ok {
		return rec, nil
	}
	r, perr := ParseReference(ref)
	if perr == nil {
		if r.Digest == "" {
			if id, ok := st.tags[r.String()]; ok && st.images[id] != nil {
				return st.images[id], nil
			}
		} else if rec := st.byDigest(r); rec != nil {
			return rec, nil
		}
	}
	if shortIDRe().MatchString(ref) {
		prefix := "sha256:" + strings.TrimPrefix(ref, "sha256:")
		var found *imageRecord
		for id, rec := range st.images {
			if strings.HasPrefix(id, prefix) {
				if found != nil {
					return nil, fmt.Errorf("%w: %s: ambiguous image ID prefix", ErrNotFound, ref)
				}
				found = rec
			}
		}
		if found != nil {
			return found, nil
		}
	}
	if perr != nil && !shortIDRe().MatchString(ref) {
		return nil, perr
	}
	return nil, fmt.Errorf("%w: %s", ErrNotFound, ref)
}

// byDigest finds the image named r.Name()@r.Digest: recorded as a repo digest, or an image of that
// repository whose manifest has that digest.
func (st *state) byDigest(r Reference) *imageRecord {
	rd := r.Name() + "@" + r.Digest
	for _, rec := range st.images {
		if slices.Contains(rec.RepoDigests, rd) {
			return rec
		}
	}
	for _, rec := range st.images {
		if rec.Manifest != r.Digest {
			continue
		}
		for _, t := range st.tagsOf(rec.ID) {
			if tr, err := ParseReference(t); err == nil && tr.Name() == r.Name() {
				return rec
			}
		}
	}
	return nil
}

// toImage builds the public view of rec.
func (s *Store) toImage(st *state, rec *imageRecord) (*Image, error) {
	d, err := parseDigest(rec.ID)
	if err != nil {
		return nil, err
	}
	b, err := s.readBlob(d)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", shortID(rec.ID), err)
	}
	img := &Image{ID: rec.ID, Digest: rec.Manifest, RepoTags: st.tagsOf(rec.ID),
		RepoDigests: slices.Clone(rec.RepoDigests)}
	if err := json.Unmarshal(b, &img.Config); err != nil {
		return nil, fmt.Errorf("image %s: parsing config: %w", shortID(rec.ID), err)
	}
	img.Created = img.Config.Created.Time
	seen := map[string]bool{}
	for _, l := range rec.Layers {
		if ld, ok := st.layers[l.DiffID]; ok && !seen[l.DiffID] {
			img.Size += ld.Size
		}
		seen[l.DiffID] = true
	}
	return img, nil
}

// shortID is the 12-hex-digit form of an image ID that Docker prints.
func shortID(id string) string {
	h := strings.TrimPrefix(id, "sha256:")
	if len(h) > 12 {
		h = h[:12]
	}
	return h
}
