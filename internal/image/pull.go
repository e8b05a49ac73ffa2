package image

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"
)

// PullOptions configures Pull.
type PullOptions struct {
	Platform           string    // "" = the host's, else "linux/arm64" etc.
	TLSVerify          *bool     // nil = default; false = skip verification and allow http
	InsecureRegistries []string  // hosts (host:port) treated as insecure: http allowed, TLS unverified
	Progress           io.Writer // where progress goes; nil = quiet
	Terminal           bool      // Progress is a terminal: progress bars instead of plain lines
}

// pullJobs is how many layers download at once.
const pullJobs = 3

// Pull fetches ref from its registry into the store and returns the image. For a multi-platform
// index it takes the manifest for o.Platform (default: the host). An image already present costs
// one manifest request. Blobs already stored are not fetched again, so a pull that was interrupted
// resumes where it stopped.
func (s *Store) Pull(ctx context.Context, ref string, o PullOptions) (*Image, error) {
	r, err := ParseReference(ref)
	if err != nil {
		return nil, err
	}
	if r.String() == DefaultImage {
		return s.EnsureDefault() // built here, never fetched
	}
	plat, err := wantPlatform(o.Platform)
	if err != nil {
		return nil, err
	}
	nref, ropts, err := remoteRef(ctx, r, o.TLSVerify, o.InsecureRegistries)
	if err != nil {
		return nil, err
	}
	s.cleanTemps()
	s.log.Debug("pulling image", "ref", r.String(), "platform", plat.String())
	desc, err := remote.Get(nref, ropts...)
	if err != nil {
		return nil, registryError("pulling", r, err)
	}
	ni := newImage{repoDigests: []string{r.Name() + "@" + desc.Digest.String()}}
	if r.Digest == "" {
		ni.tags = []string{r.String()}
	}
	var img v1.Image
	var check *v1.Platform // a single-platform image must match an explicit --platform
	switch {
	case desc.MediaType.IsIndex():
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, registryError("pulling", r, err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, registryError("pulling", r, err)
		}
		child, err := pickManifest(im, plat)
		if err != nil {
			return nil, fmt.Errorf("pulling %s: %w", r.Familiar(), err)
		}
		s.log.Debug("picked manifest from index", "index", desc.Digest.String(), "manifest", child.Digest.String())
		ni.manifest = child.Digest
		if got, ok := s.upToDate(ni); ok {
			pullStatus(o.Progress, desc.Digest, "Image is up to date for "+r.Familiar())
			return got, nil
		}
		if img, err = idx.Image(child.Digest); err != nil {
			return nil, registryError("pulling", r, err)
		}
	case desc.MediaType.IsImage():
		ni.manifest = desc.Digest
		if got, ok := s.upToDate(ni); ok {
			pullStatus(o.Progress, desc.Digest, "Image is up to date for "+r.Familiar())
			return got, nil
		}
		if o.Platform != "" {
			check = &plat
		}
		if img, err = desc.Image(); err != nil {
			return nil, registryError("pulling", r, err)
		}
	default:
		return nil, fmt.Errorf("pulling %s: unsupported manifest type %s", r.Familiar(), desc.MediaType)
	}
	got, err := s.pullImage(ctx, img, ni, check, o)
	if err != nil {
		return nil, registryError("pulling", r, err)
	}
	pullStatus(o.Progress, desc.Digest, "Downloaded newer image for "+r.Familiar())
	return got, nil
}

func pullStatus(w io.Writer, digest v1.Hash, status string) {
	if w != nil {
		fmt.Fprintf(w, "Digest: %s\nStatus: %s\n", digest, status)
	}
}

// upToDate records the names of ni if its manifest is already stored (the fast path of Pull).
func (s *Store) upToDate(ni newImage) (*Image, bool) {
	var id string
	s.view(func(st *state) error {
		for _, rec := range st.images {
			if rec.Manifest == ni.manifest.String() {
				id = rec.ID
			}
		}
		return nil
	})
	if id == "" {
		return nil, false
	}
	h, err := parseDigest(id)
	if err != nil {
		return nil, false
	}
	ni.id = h
	var layers []layerRef
	s.view(func(st *state) error {
		if rec := st.images[id]; rec != nil {
			layers = rec.Layers
		}
		return nil
	})
	ni.layers = layers
	img, err := s.commit(ni)
	if err != nil {
		s.log.Debug("image present but incomplete, pulling again", "id", id, "err", err)
		return nil, false
	}
	s.log.Debug("image is up to date", "id", id)
	return img, true
}

// pullImage fetches manifest, config and layers of img and records it.
func (s *Store) pullImage(ctx context.Context, img v1.Image, ni newImage, check *v1.Platform, o PullOptions) (*Image, error) {
	rawManifest, err := img.RawManifest()
	if err != nil {
		return nil, err
	}
	if d := sha256Hash(rawManifest); d != ni.manifest {
		return nil, fmt.Errorf("manifest digest mismatch: got %s, want %s", d, ni.manifest)
	}
	m, err := v1.ParseManifest(bytes.NewReader(rawManifest))
	if err != nil {
		return nil, fmt.Errorf("parsing manifest: %w", err)
	}
	rawConfig, err := img.RawConfigFile()
	if err != nil {
		return nil, err
	}
	if d := sha256Hash(rawConfig); d != m.Config.Digest {
		return nil, fmt.Errorf("config digest mismatch: got %s, want %s", d, m.Config.Digest)
	}
	ni.id = m.Config.Digest
	if ni.layers, err = layerRefs(m, rawConfig); err != nil {
		return nil, err
	}
	if check != nil {
		cfg, _ := v1.ParseConfigFile(bytes.NewReader(rawConfig)) // parsed by layerRefs already
		if cfg.OS != check.OS || cfg.Architecture != check.Architecture {
			return nil, fmt.Errorf("image is for %s/%s, not the requested platform %s", cfg.OS, cfg.Architecture, check)
		}
	}
	for attempt := 0; ; attempt++ {
		if err := s.fetchLayers(ctx, img, ni.layers, o); err != nil {
			return nil, err
		}
		for _, b := range [][]byte{rawManifest, rawConfig} {
			if _, err := s.putBlob(b); err != nil {
				return nil, err
			}
		}
		got, err := s.commit(ni)
		if errors.Is(err, errMissing) && attempt < 3 {
			s.log.Debug("content removed while pulling, fetching again", "err", err)
			continue
		}
		return got, err
	}
}

// layerRefs pairs the layers of manifest m with the diffIDs of config, checking both are sane.
func layerRefs(m *v1.Manifest, config []byte) ([]layerRef, error) {
	cfg, err := v1.ParseConfigFile(bytes.NewReader(config))
	if err != nil {
		return nil, fmt.Errorf("parsing image config: %w", err)
	}
	if _, err := parseDigest(m.Config.Digest.String()); err != nil {
		return nil, fmt.Errorf("manifest config: %w", err)
	}
	if len(cfg.RootFS.DiffIDs) != len(m.Layers) {
		return nil, fmt.Errorf("manifest has %d layers but config has %d diff ids", len(m.Layers), len(cfg.RootFS.DiffIDs))
	}
	out := make([]layerRef, len(m.Layers))
	for i, l := range m.Layers {
		if _, err := parseDigest(l.Digest.String()); err != nil {
			return nil, fmt.Errorf("manifest layer %d: %w", i, err)
		}
		if _, err := parseDigest(cfg.RootFS.DiffIDs[i].String()); err != nil {
			return nil, fmt.Errorf("config diff id %d: %w", i, err)
		}
		if !l.MediaType.IsLayer() {
			return nil, fmt.Errorf("manifest layer %d: unsupported media type %s", i, l.MediaType)
		}
		out[i] = layerRef{Digest: l.Digest.String(), DiffID: cfg.RootFS.DiffIDs[i].String(),
			MediaType: string(l.MediaType), Size: l.Size}
	}
	return out, nil
}

// fetchLayers downloads (pullJobs at a time) and unpacks the layers that are not in the store.
func (s *Store) fetchLayers(ctx context.Context, img v1.Image, layers []layerRef, o PullOptions) error {
	pr := newProgress(o.Progress, o.Terminal)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(pullJobs)
	seen := map[string]bool{}
	for _, l := range layers {
		if seen[l.Digest] {
			continue
		}
		seen[l.Digest] = true
		lp := pr.layer(l.Digest, l.Size)
		g.Go(func() error {
			status, err := s.fetchLayer(gctx, img, l, lp)
			if err != nil {
				lp.fail(err)
				return err
			}
			lp.done(status)
			return nil
		})
	}
	err := g.Wait()
	pr.wait()
	return err
}

func (s *Store) fetchLayer(ctx context.Context, img v1.Image, l layerRef, lp *layerProgress) (string, error) {
	digest, _ := parseDigest(l.Digest)
	diffID, _ := parseDigest(l.DiffID)
	if s.hasBlob(digest) && s.hasLayer(diffID) {
		return "already exists", nil
	}
	if s.hasBlob(digest) {
		lp.extracting()
		if err := s.unpackBlob(digest, diffID); err != nil {
			return "", err
		}
		return "done", nil
	}
	rl, err := img.LayerByDigest(digest)
	if err != nil {
		return "", fmt.Errorf("fetching layer %s: %w", digest, err)
	}
	rc, err := rl.Compressed()
	if err != nil {
		return "", fmt.Errorf("fetching layer %s: %w", digest, err)
	}
	defer rc.Close()
	if s.hasLayer(diffID) {
		// Unpacked already (from another image's blob of the same
		// content): only the blob is missing.
		return "done", s.writeBlob(digest, l.Size, lp.reader(ctx, rc))
	}
	// Download, store and unpack in one pass: the blob is written (and
	// its digest checked) as it streams in, and the same bytes go through
	// the decompressor into the layer directory, which is committed only
	// when both the blob's digest and the layer's diffID are right.
	pr, pw := io.Pipe()
	blobErr := make(chan error, 1)
	go func() {
		err := s.storeBlob(digest, l.Size, io.TeeReader(lp.reader(ctx, rc), pw))
		pw.CloseWithError(err) // nil: EOF for the unpacker
		blobErr <- err
	}()
	tmp, size, err := s.unpackVerified(pr, digest, diffID)
	if err == nil {
		// Whatever follows the compressed stream is part of the blob.
		_, err = io.Copy(io.Discard, pr)
	}
	pr.CloseWithError(errUnpackDone) // stops the download if unpacking failed
	if berr := <-blobErr; berr != nil && !errors.Is(berr, errUnpackDone) {
		err = berr // the download's own failure, or the blob's digest or size is wrong
	}
	if err != nil {
		if tmp != "" {
			os.RemoveAll(tmp)
		}
		return "", err
	}
	s.log.Debug("fetched and unpacked layer", "digest", l.Digest, "size", l.Size)
	if err := s.commitLayer(tmp, diffID, size); err != nil {
		return "", err
	}
	return "done", nil
}

// errUnpackDone stops a blob download whose unpacking failed.
var errUnpackDone = errors.New("unpacking stopped")

func sha256Hash(b []byte) v1.Hash {
	sum := sha256.Sum256(b)
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
}
