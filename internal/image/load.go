package image

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Load reads a docker-archive (`docker save`) or OCI image layout tar and stores its images. An OCI
// layout is stored blob for blob, keeping manifest digests; Docker's older format has no manifests,
// so one is written. Images are named from manifest.json's RepoTags or the index annotations.
func (s *Store) Load(r io.Reader) ([]*Image, error) {
	s.cleanTemps()
	rc, err := decompress(r)
	if err != nil {
		return nil, fmt.Errorf("loading images: %w", err)
	}
	defer rc.Close()
	a, err := s.spool(rc)
	if err != nil {
		return nil, fmt.Errorf("loading images: %w", err)
	}
	defer os.RemoveAll(a.dir)
	var imgs []*Image
	switch {
	case a.has("index.json") && a.has("oci-layout"):
		imgs, err = s.loadOCI(a)
	case a.has("manifest.json"):
		imgs, err = s.loadDocker(a)
	default:
		err = errors.New("neither manifest.json nor index.json found: not a docker-archive or OCI layout")
	}
	if err != nil {
		return nil, fmt.Errorf("loading images: %w", err)
	}
	return imgs, nil
}

// spooled is an archive unpacked to a temporary directory: its regular files, and its links
// resolved by name inside the archive (never on disk), so the archive cannot reach outside.
type spooled struct {
	dir   string
	files map[string]bool
	links map[string]string // archive path → archive path it points to
}

func (s *Store) spool(r io.Reader) (*spooled, error) {
	dir, err := os.MkdirTemp(s.root, tmpPrefix()+"load-")
	if err != nil {
		return nil, err
	}
	a := &spooled{dir: dir, files: map[string]bool{}, links: map[string]string{}}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return a, nil
		}
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("reading archive: %w", err)
		}
		name, ok := archivePath(h.Name)
		if !ok {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("reading archive: invalid path %q", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeReg:
			if err := a.write(name, tr); err != nil {
				os.RemoveAll(dir)
				return nil, err
			}
		case tar.TypeSymlink, tar.TypeLink:
			target := h.Linkname
			if h.Typeflag == tar.TypeSymlink && !path.IsAbs(target) {
				target = path.Join(path.Dir(name), target)
			}
			if t, ok := archivePath(target); ok {
				a.links[name] = t
			}
		}
	}
}

// archivePath cleans a name from an archive; false if it leaves the archive's root.
func archivePath(name string) (string, bool) {
	p := path.Clean("/" + name)[1:]
	if p == "" || strings.HasPrefix(path.Clean(name), "../") || path.Clean(name) == ".." {
		return "", false
	}
	return p, true
}

func (a *spooled) write(name string, r io.Reader) error {
	dst := filepath.Join(a.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return fmt.Errorf("reading archive: %w", err)
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("reading archive: %w", err)
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("reading archive: %s: %w", name, err)
	}
	a.files[name] = true
	return nil
}

func (a *spooled) resolve(name string) (string, bool) {
	name, ok := archivePath(name)
	for i := 0; ok && i < 16; i++ {
		if a.files[name] {
			return name, true
		}
		name, ok = a.links[name]
	}
	return "", false
}

func (a *spooled) has(name string) bool {
	_, ok := a.resolve(name)
	return ok
}

func (a *spooled) open(name string) (*os.File, error) {
	p, ok := a.resolve(name)
	if !ok {
		return nil, fmt.Errorf("%s: not in archive", name)
	}
	return os.Open(filepath.Join(a.dir, filepath.FromSlash(p)))
}

func (a *spooled) read(name string, limit int64) ([]byte, error) {
	f, err := a.open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("reading %s: larger than %d bytes", name, limit)
	}
	return b, nil
}

// maxJSON bounds manifests, configs and indexes read from archives.
const maxJSON = 16 << 20

// loadDocker loads the images of a docker-archive's manifest.json.
func (s *Store) loadDocker(a *spooled) ([]*Image, error) {
	b, err := a.read("manifest.json", maxJSON)
	if err != nil {
		return nil, err
	}
	var entries []dockerManifestEntry
	if err := json.Unmarshal(b, &entries); err != nil {
		return nil, fmt.Errorf("parsing manifest.json: %w", err)
	}
	var out []*Image
	for _, e := range entries {
		img, err := s.loadDockerImage(a, e)
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	return out, nil
}

func (s *Store) loadDockerImage(a *spooled, e dockerManifestEntry) (*Image, error) {
	rawConfig, err := a.read(e.Config, maxJSON)
	if err != nil {
		return nil, err
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(rawConfig))
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", e.Config, err)
	}
	if len(cfg.RootFS.DiffIDs) != len(e.Layers) {
		return nil, fmt.Errorf("%s: %d layers but config has %d diff ids", e.Config, len(e.Layers), len(cfg.RootFS.DiffIDs))
	}
	var tags []string
	for _, t := range e.RepoTags {
		r, err := ParseReference(t)
		if err != nil || r.Digest != "" {
			return nil, fmt.Errorf("manifest.json: tag %q: invalid reference", t)
		}
		tags = append(tags, r.String())
	}
	layers := make([]layerRef, len(e.Layers))
	for i, name := range e.Layers {
		want := cfg.RootFS.DiffIDs[i]
		if l, ok := s.storedLayer(want); ok {
			layers[i] = l
			continue
		}
		l, err := s.loadDockerLayer(a, name)
		if err != nil {
			return nil, err
		}
		if l.DiffID != want.String() {
			return nil, fmt.Errorf("layer %s: content is %s, config says %s", name, l.DiffID, want)
		}
		layers[i] = l
	}
	return s.storeBuilt(rawConfig, layers, tags)
}

func (s *Store) loadDockerLayer(a *spooled, name string) (layerRef, error) {
	f, err := a.open(name)
	if err != nil {
		return layerRef{}, err
	}
	defer f.Close()
	rc, err := decompress(f)
	if err != nil {
		return layerRef{}, fmt.Errorf("layer %s: %w", name, err)
	}
	defer rc.Close()
	l, err := s.ingestTar(rc)
	if err != nil {
		return layerRef{}, fmt.Errorf("layer %s: %w", name, err)
	}
	return l, nil
}

// storedLayer finds a stored, unpacked layer with diffID and a compressed blob for it.
func (s *Store) storedLayer(diffID v1.Hash) (layerRef, bool) {
	var found layerRef
	ok := false
	s.view(func(st *state) error {
		if _, unpacked := st.layers[diffID.String()]; !unpacked {
			return nil
		}
		for _, rec := range st.images {
			for _, l := range rec.Layers {
				if l.DiffID == diffID.String() {
					if d, err := parseDigest(l.Digest); err == nil && s.hasBlob(d) {
						found, ok = l, true
						return nil
					}
				}
			}
		}
		return nil
	})
	return found, ok
}
