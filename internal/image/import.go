package image

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ImportOptions sets the config of an imported image (`nook import --change`, `--message`).
type ImportOptions struct {
	Cmd        []string
	Entrypoint []string
	Env        []string
	WorkingDir string
	Message    string
}

// Import creates a one-layer image from a root filesystem tarball (`docker export` style; plain,
// gzip, zstd, bzip2 or xz) and names it ref ("" = untagged).
func (s *Store) Import(r io.Reader, ref string, o ImportOptions) (*Image, error) {
	tags, err := tagsFor(ref)
	if err != nil {
		return nil, err
	}
	s.cleanTemps()
	rc, err := decompress(r)
	if err != nil {
		return nil, fmt.Errorf("importing: %w", err)
	}
	defer rc.Close()
	layer, err := s.ingestTar(rc)
	if err != nil {
		return nil, fmt.Errorf("importing: %w", err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	diffID, _ := parseDigest(layer.DiffID)
	cfg := v1.ConfigFile{
		Architecture: runtime.GOARCH,
		OS:           "linux",
		Created:      v1.Time{Time: now},
		Config:       v1.Config{Cmd: o.Cmd, Entrypoint: o.Entrypoint, Env: o.Env, WorkingDir: o.WorkingDir},
		RootFS:       v1.RootFS{Type: "layers", DiffIDs: []v1.Hash{diffID}},
		History:      []v1.History{{Created: v1.Time{Time: now}, CreatedBy: "nook import", Comment: o.Message}},
	}
	rawConfig, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("encoding image config: %w", err)
	}
	img, err := s.storeBuilt(rawConfig, []layerRef{layer}, tags)
	if err != nil {
		return nil, fmt.Errorf("importing: %w", err)
	}
	return img, nil
}

// tagsFor normalizes an optional tag argument.
func tagsFor(ref string) ([]string, error) {
	if ref == "" {
		return nil, nil
	}
	r, err := ParseReference(ref)
	if err != nil {
		return nil, err
	}
	if r.Digest != "" {
		return nil, fmt.Errorf("refusing to create a tag with a digest reference: %s", ref)
	}
	return []string{r.String()}, nil
}

// ingestTar unpacks the uncompressed layer tar r and, in the same pass, stores it gzip-compressed as
// a blob. It returns the layer with its computed diffID.
func (s *Store) ingestTar(r io.Reader) (layerRef, error) {
	bw, err := s.newBlobWriter()
	if err != nil {
		return layerRef{}, err
	}
	defer bw.discard()
	gz := gzip.NewWriter(bw)
	diffID, size, tmp, err := s.unpackStream(io.TeeReader(r, gz))
	if err != nil {
		return layerRef{}, err
	}
	if err := gz.Close(); err != nil {
		os.RemoveAll(tmp)
		return layerRef{}, fmt.Errorf("compressing layer: %w", err)
	}
	desc, err := bw.commit(nil)
	if err != nil {
		os.RemoveAll(tmp)
		return layerRef{}, err
	}
	if err := s.commitLayer(tmp, diffID, size); err != nil {
		return layerRef{}, err
	}
	return layerRef{Digest: desc.Digest.String(), DiffID: diffID.String(), MediaType: string(types.DockerLayer),
		Size: desc.Size}, nil
}

// storeBuilt writes rawConfig and a Docker schema 2 manifest for layers and records the image.
func (s *Store) storeBuilt(rawConfig []byte, layers []layerRef, tags []string) (*Image, error) {
	cd, err := s.putBlob(rawConfig)
	if err != nil {
		return nil, err
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.DockerManifestSchema2,
		Config:        v1.Descriptor{MediaType: types.DockerConfigJSON, Size: int64(len(rawConfig)), Digest: cd},
	}
	for _, l := range layers {
		d, err := parseDigest(l.Digest)
		if err != nil {
			return nil, err
		}
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: types.MediaType(l.MediaType), Size: l.Size, Digest: d})
	}
	rawManifest, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encoding manifest: %w", err)
	}
	md, err := s.putBlob(rawManifest)
	if err != nil {
		return nil, err
	}
	return s.commit(newImage{id: cd, manifest: md, layers: layers, tags: tags})
}
