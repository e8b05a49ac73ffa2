package image

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
)

// ErrNotFound is returned (wrapped, with the reference) when an image, tag or layer is not in the store.
var ErrNotFound = errors.New("no such image")

// DefaultImage is the built-in image EnsureDefault creates from the host's busybox.
const DefaultImage = "nook.local/busybox:latest"

// Store is an image store rooted at a directory. It is safe for concurrent use by goroutines and by
// several processes: metadata changes happen under an exclusive flock(2) on <root>/lock.
type Store struct {
	root string
	log  *slog.Logger
}

// Image is an image in the store.
type Image struct {
	ID          string   // "sha256:<hex>", digest of the config blob (Docker's image ID)
	Digest      string   // digest of the stored manifest
	RepoTags    []string // normalized names, "docker.io/library/alpine:latest"
	RepoDigests []string // "docker.io/library/alpine@sha256:..." for pulled images
	Created     time.Time
	Size        int64 // sum of unpacked layer sizes
	Config      v1.ConfigFile
}

// imageRecord is images/<hex>.json.
type imageRecord struct {
	ID          string     `json:"id"`
	Manifest    string     `json:"manifest"`
	Layers      []layerRef `json:"layers"`
	RepoDigests []string   `json:"repoDigests,omitempty"`
	Stored      time.Time  `json:"stored"`
}

// layerRef is one layer of an image: its compressed blob and its diffID.
type layerRef struct {
	Digest    string `json:"digest"`
	DiffID    string `json:"diffID"`
	MediaType string `json:"mediaType"`
	Size      int64  `json:"size"`
}

// layerDir is an unpacked layer (layers.json values).
type layerDir struct {
	Dir  string `json:"dir"` // relative to the store root
	Size int64  `json:"size"`
}

// state is the whole metadata, loaded under the lock.
type state struct {
	images  map[string]*imageRecord // by ID
	tags    map[string]string       // normalized reference → ID
	layers  map[string]*layerDir    // by diffID
	dirty   map[string]bool         // image IDs to write
	removed map[string]bool         // image IDs to delete
	changed struct{ tags, layers bool }
	// afterSave runs once the metadata is written, still under the lock: removal of content the
	// written metadata no longer refers to.
	afterSave []func()
}

// Open opens (creating if needed) the image store at root, "<nook root>/image".
func Open(root string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("opening image store: %w", err)
	}
	for _, d := range []string{root, filepath.Join(root, "blobs", "sha256"), filepath.Join(root, "images"),
		filepath.Join(root, "l")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("opening image store: %w", err)
		}
	}
	// Unpacked layers are overlay lower directories; containers running as other users must be able
	// to traverse the path to them.
	for _, d := range []string{root, filepath.Join(root, "l")} {
		if err := os.Chmod(d, 0o711); err != nil {
			return nil, fmt.Errorf("opening image store: %w", err)
		}
	}
	markTopDir(filepath.Join(root, "l"), log)
	f, err := os.OpenFile(filepath.Join(root, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening image store: %w", err)
	}
	f.Close()
	return &Store{root: root, log: log}, nil
}

// lock takes the store lock. Each call opens the lock file anew, so flock(2) also excludes
// goroutines of this process from each other.
func (s *Store) lock(exclusive bool) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(s.root, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("locking image store: %w", err)
	}
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("locking image store: %w", err)
	}
	return func() { f.Close() }, nil
}

// view runs fn with the metadata under a shared lock. fn must not modify st.
func (s *Store) view(fn func(st *state) error) error {
	unlock, err := s.lock(false)
	if err != nil {
		return err
	}
	defer unlock()
	st, err := s.load()
	if err != nil {
		return err
	}
	return fn(st)
}

// update runs fn with the metadata under an exclusive lock and writes back what fn changed.
func (s *Store) update(fn func(st *state) error) error {
	unlock, err := s.lock(true)
	if err != nil {
		return err
	}
	defer unlock()
	st, err := s.load()
	if err != nil {
		return err
	}
	if err := fn(st); err != nil {
		return err
	}
	if err := s.save(st); err != nil {
		return err
	}
	for _, f := range st.afterSave {
		f()
	}
	return nil
}

func (s *Store) load() (*state, error) {
	st := &state{images: map[string]*imageRecord{}, tags: map[string]string{}, layers: map[string]*layerDir{},
		dirty: map[string]bool{}, removed: map[string]bool{}}
	if err := readJSON(filepath.Join(s.root, "repositories.json"), &st.tags); err != nil {
		return nil, err
	}
	if err := readJSON(filepath.Join(s.root, "layers.json"), &st.layers); err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(filepath.Join(s.root, "images"))
	if err != nil {
		return nil, fmt.Errorf("reading image records: %w", err)
	}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".json") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		rec := &imageRecord{}
		if err := readJSON(filepath.Join(s.root, "images", e.Name()), rec); err != nil {
			return nil, err
		}
		st.images[rec.ID] = rec
	}
	return st, nil
}

func (s *Store) save(st *state) error {
	for id := range st.dirty {
		if err := writeJSON(s.recordPath(id), st.images[id]); err != nil {
			return err
		}
	}
	if st.changed.tags {
		if err := writeJSON(filepath.Join(s.root, "repositories.json"), st.tags); err != nil {
			return err
		}
	}
	if st.changed.layers {
		if err := writeJSON(filepath.Join(s.root, "layers.json"), st.layers); err != nil {
			return err
		}
	}
	for id := range st.removed {
		if err := os.Remove(s.recordPath(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing image record: %w", err)
		}
	}
	return nil
}

func (s *Store) recordPath(id string) string {
	return filepath.Join(s.root, "images", strings.TrimPrefix(id, "sha256:")+".json")
}

func (st *state) putImage(rec *imageRecord) {
	st.images[rec.ID] = rec
	st.dirty[rec.ID] = true
	delete(st.removed, rec.ID)
}

func (st *state) deleteImage(id string) {
	delete(st.images, id)
	delete(st.dirty, id)
	st.removed[id] = true
	for t, tid := range st.tags {
		if tid == id {
			delete(st.tags, t)
			st.changed.tags = true
		}
	}
}

func (st *state) setTag(ref, id string) {
	if st.tags[ref] != id {
		st.tags[ref] = id
		st.changed.tags = true
	}
}

// tagsOf returns the tags of image id, sorted.
func (st *state) tagsOf(id string) []string {
	var out []string
	for t, tid := range st.tags {
		if tid == id {
			out = append(out, t)
		}
	}
	sortStrings(out)
	return out
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", filepath.Base(path), err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("parsing %s: %w", path, err)
	}
	return nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", filepath.Base(path), err)
	}
	return writeFileAtomic(path, b, 0o600)
}
