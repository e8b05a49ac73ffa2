package image

import (
	"bytes"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// storeImage presents a stored image as a go-containerregistry v1.Image (for push and save), serving
// the manifest, config and compressed layers from the blob store byte for byte, so digests are kept.
type storeImage struct {
	s        *Store
	manifest []byte
	config   []byte
	mt       types.MediaType
	layers   map[v1.Hash]layerRef
}

// v1Image loads the stored image id.
func (s *Store) v1Image(id string) (v1.Image, error) {
	var rec imageRecord
	err := s.view(func(st *state) error {
		r, ok := st.images[id]
		if !ok {
			return fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		rec = *r
		return nil
	})
	if err != nil {
		return nil, err
	}
	si := &storeImage{s: s, layers: map[v1.Hash]layerRef{}}
	md, err := parseDigest(rec.Manifest)
	if err != nil {
		return nil, err
	}
	cd, err := parseDigest(rec.ID)
	if err != nil {
		return nil, err
	}
	if si.manifest, err = s.readBlob(md); err != nil {
		return nil, err
	}
	if si.config, err = s.readBlob(cd); err != nil {
		return nil, err
	}
	m, err := v1.ParseManifest(bytes.NewReader(si.manifest))
	if err != nil {
		return nil, fmt.Errorf("parsing stored manifest %s: %w", md, err)
	}
	si.mt = m.MediaType
	if si.mt == "" {
		si.mt = types.OCIManifestSchema1
	}
	for _, l := range rec.Layers {
		d, err := parseDigest(l.Digest)
		if err != nil {
			return nil, err
		}
		si.layers[d] = l
	}
	return partial.CompressedToImage(si)
}

func (si *storeImage) RawConfigFile() ([]byte, error)      { return si.config, nil }
func (si *storeImage) MediaType() (types.MediaType, error) { return si.mt, nil }
func (si *storeImage) RawManifest() ([]byte, error)        { return si.manifest, nil }
func (si *storeImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	l, ok := si.layers[h]
	if !ok {
		return nil, fmt.Errorf("%w: layer %s", ErrNotFound, h)
	}
	return &storeLayer{s: si.s, ref: l, digest: h}, nil
}

// storeLayer is a stored compressed layer.
type storeLayer struct {
	s      *Store
	ref    layerRef
	digest v1.Hash
}

func (l *storeLayer) Digest() (v1.Hash, error) { return l.digest, nil }
func (l *storeLayer) DiffID() (v1.Hash, error) { return parseDigest(l.ref.DiffID) }
func (l *storeLayer) Size() (int64, error)     { return l.ref.Size, nil }
func (l *storeLayer) MediaType() (types.MediaType, error) {
	return types.MediaType(l.ref.MediaType), nil
}
func (l *storeLayer) Compressed() (io.ReadCloser, error) { return l.s.openBlob(l.digest) }
