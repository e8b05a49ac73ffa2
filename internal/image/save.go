package image

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Annotations naming images in an OCI layout index, as Docker (25+) and containerd write them.
const (
	annotationImageName = "io.containerd.image.name"
	annotationRefName   = "org.opencontainers.image.ref.name"
)

// Save writes the images refs name to w as a tar archive in format "docker-archive" (default; what
// `docker save` writes and `docker load`/`podman load` read) or "oci-archive" (an OCI image layout).
// Both are OCI image layouts; docker-archive adds Docker's manifest.json, as Docker 25+ does.
// An image named by ID is saved untagged; by name, with that name.
func (s *Store) Save(w io.Writer, refs []string, format string) error {
	docker := true
	switch format {
	case "", "docker-archive":
	case "oci-archive":
		docker = false
	default:
		return fmt.Errorf("saving images: unknown format %q (want docker-archive or oci-archive)", format)
	}
	if len(refs) == 0 {
		return fmt.Errorf("saving images: no image given")
	}
	type saved struct {
		img  *Image
		tags []Reference
	}
	var order []*saved
	byID := map[string]*saved{}
	for _, ref := range refs {
		img, err := s.Get(ref)
		if err != nil {
			return err
		}
		sv := byID[img.ID]
		if sv == nil {
			sv = &saved{img: img}
			byID[img.ID] = sv
			order = append(order, sv)
		}
		if r, err := ParseReference(ref); err == nil && r.Digest == "" && containsString(img.RepoTags, r.String()) {
			sv.tags = append(sv.tags, r)
		}
	}
	aw := &archiveWriter{tw: tar.NewWriter(w), written: map[string]bool{}}
	if err := aw.file("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	if err := aw.dir("blobs/"); err != nil {
		return err
	}
	if err := aw.dir("blobs/sha256/"); err != nil {
		return err
	}
	index := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
	var dockerManifest []dockerManifestEntry
	for _, sv := range order {
		desc, layers, err := s.saveImage(aw, sv.img)
		if err != nil {
			return fmt.Errorf("saving %s: %w", shortID(sv.img.ID), err)
		}
		entry := dockerManifestEntry{Config: blobName(sv.img.ID), Layers: layers}
		if len(sv.tags) == 0 {
			index.Manifests = append(index.Manifests, desc)
		}
		for _, t := range sv.tags {
			d := desc
			refName := t.Tag
			if !docker {
				refName = t.String()
			}
			d.Annotations = map[string]string{annotationImageName: t.String(), annotationRefName: refName}
			index.Manifests = append(index.Manifests, d)
			entry.RepoTags = append(entry.RepoTags, t.Familiar())
		}
		dockerManifest = append(dockerManifest, entry)
	}
	if err := aw.json("index.json", index); err != nil {
		return err
	}
	if docker {
		if err := aw.json("manifest.json", dockerManifest); err != nil {
			return err
		}
	}
	if err := aw.tw.Close(); err != nil {
		return fmt.Errorf("saving images: %w", err)
	}
	return nil
}

// dockerManifestEntry is one element of a docker-archive's manifest.json.
type dockerManifestEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// saveImage writes the blobs of img and returns its manifest descriptor and layer file names.
func (s *Store) saveImage(aw *archiveWriter, img *Image) (v1.Descriptor, []string, error) {
	v, err := s.v1Image(img.ID)
	if err != nil {
		return v1.Descriptor{}, nil, err
	}
	m, err := v.Manifest()
	if err != nil {
		return v1.Descriptor{}, nil, err
	}
	md, err := parseDigest(img.Digest)
	if err != nil {
		return v1.Descriptor{}, nil, err
	}
	var layers []string
	for _, d := range append([]v1.Hash{md, m.Config.Digest}, descDigests(m.Layers)...) {
		if err := aw.blob(s, d); err != nil {
			return v1.Descriptor{}, nil, err
		}
	}
	for _, l := range m.Layers {
		layers = append(layers, blobName(l.Digest.String()))
	}
	raw, err := v.RawManifest()
	if err != nil {
		return v1.Descriptor{}, nil, err
	}
	mt := m.MediaType
	if mt == "" {
		mt = types.OCIManifestSchema1
	}
	desc := v1.Descriptor{MediaType: mt, Digest: md, Size: int64(len(raw))}
	if img.Config.OS != "" {
		desc.Platform = &v1.Platform{OS: img.Config.OS, Architecture: img.Config.Architecture, Variant: img.Config.Variant}
	}
	return desc, layers, nil
}

func descDigests(ds []v1.Descriptor) []v1.Hash {
	out := make([]v1.Hash, len(ds))
	for i, d := range ds {
		out[i] = d.Digest
	}
	return out
}

func blobName(digest string) string {
	h, _ := parseDigest(digest)
	return path.Join("blobs", "sha256", h.Hex)
}

// archiveWriter writes a tar with fixed metadata, each blob once.
type archiveWriter struct {
	tw      *tar.Writer
	written map[string]bool
}

var archiveTime = time.Unix(0, 0)

func (aw *archiveWriter) dir(name string) error {
	return aw.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755, ModTime: archiveTime,
		Format: tar.FormatPAX})
}

func (aw *archiveWriter) file(name string, b []byte) error {
	err := aw.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(b)),
		ModTime: archiveTime, Format: tar.FormatPAX})
	if err == nil {
		_, err = aw.tw.Write(b)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return nil
}

func (aw *archiveWriter) json(name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", name, err)
	}
	return aw.file(name, b)
}

func (aw *archiveWriter) blob(s *Store, d v1.Hash) error {
	name := blobName(d.String())
	if aw.written[name] {
		return nil
	}
	aw.written[name] = true
	f, err := s.openBlob(d)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err := aw.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: fi.Size(),
		ModTime: archiveTime, Format: tar.FormatPAX}); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if _, err := io.Copy(aw.tw, f); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
