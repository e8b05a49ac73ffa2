package image

import (
	"bytes"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// loadOCI loads the images an OCI layout's index.json lists, picking the host's platform from
// nested indexes.
func (s *Store) loadOCI(a *spooled) ([]*Image, error) {
	b, err := a.read("index.json", maxJSON)
	if err != nil {
		return nil, err
	}
	idx, err := v1.ParseIndexManifest(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("parsing index.json: %w", err)
	}
	var out []*Image
	for _, d := range idx.Manifests {
		var tags []string
		if name := ociName(d.Annotations); name != "" {
			r, err := ParseReference(name)
			if err != nil {
				return nil, fmt.Errorf("index.json: image name %q: %w", name, err)
			}
			if r.Digest == "" {
				tags = []string{r.String()}
			}
		}
		if d.MediaType.IsIndex() {
			if d, err = s.pickFromOCIIndex(a, d); err != nil {
				return nil, err
			}
		}
		if !d.MediaType.IsImage() {
			s.log.Debug("skipping index entry", "mediaType", string(d.MediaType), "digest", d.Digest.String())
			continue
		}
		img, err := s.loadOCIImage(a, d, tags)
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("index.json lists no image")
	}
	return out, nil
}

// ociName is the image name an index entry is annotated with, if it is a full reference.
func ociName(ann map[string]string) string {
	if n := ann[annotationImageName]; n != "" {
		return n
	}
	// ref.name may be only a tag ("latest"), which names no repository.
	if n := ann[annotationRefName]; strings.ContainsAny(n, ":/") {
		return n
	}
	return ""
}

func (s *Store) pickFromOCIIndex(a *spooled, d v1.Descriptor) (v1.Descriptor, error) {
	b, err := s.readVerified(a, d)
	if err != nil {
		return v1.Descriptor{}, err
	}
	idx, err := v1.ParseIndexManifest(bytes.NewReader(b))
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("parsing index %s: %w", d.Digest, err)
	}
	plat, _ := wantPlatform("")
	return pickManifest(idx, plat)
}

// readVerified reads the small blob d from the archive and checks its digest.
func (s *Store) readVerified(a *spooled, d v1.Descriptor) ([]byte, error) {
	if _, err := parseDigest(d.Digest.String()); err != nil {
		return nil, err
	}
	b, err := a.read(blobName(d.Digest.String()), maxJSON)
	if err != nil {
		return nil, err
	}
	if got := sha256Hash(b); got != d.Digest {
		return nil, fmt.Errorf("blob %s: content is %s", d.Digest, got)
	}
	return b, nil
}

func (s *Store) loadOCIImage(a *spooled, d v1.Descriptor, tags []string) (*Image, error) {
	rawManifest, err := s.readVerified(a, d)
	if err != nil {
		return nil, err
	}
	m, err := v1.ParseManifest(bytes.NewReader(rawManifest))
	if err != nil {
		return nil, fmt.Errorf("parsing manifest %s: %w", d.Digest, err)
	}
	rawConfig, err := s.readVerified(a, v1.Descriptor{Digest: m.Config.Digest})
	if err != nil {
		return nil, err
	}
	layers, err := layerRefs(m, rawConfig)
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", d.Digest, err)
	}
	for _, l := range layers {
		digest, _ := parseDigest(l.Digest)
		diffID, _ := parseDigest(l.DiffID)
		if !s.hasBlob(digest) {
			f, err := a.open(blobName(l.Digest))
			if err != nil {
				return nil, err
			}
			err = s.writeBlob(digest, l.Size, f)
			f.Close()
			if err != nil {
				return nil, err
			}
		}
		if err := s.unpackBlob(digest, diffID); err != nil {
			return nil, err
		}
	}
	for _, b := range [][]byte{rawManifest, rawConfig} {
		if _, err := s.putBlob(b); err != nil {
			return nil, err
		}
	}
	return s.commit(newImage{id: m.Config.Digest, manifest: d.Digest, layers: layers, tags: tags})
}
