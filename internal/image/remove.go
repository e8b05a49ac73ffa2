package image

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Remove deletes an image (by ID, short ID or any of its names) with all its tags, and the blobs and
// unpacked layers no other image uses. The caller checks that no container uses the image.
func (s *Store) Remove(id string) error {
	var trash []string
	err := s.update(func(st *state) error {
		rec, err := st.resolve(id)
		if err != nil {
			return err
		}
		s.deleteLocked(st, rec, &trash)
		return nil
	})
	s.emptyTrash(trash)
	return err
}

// Prune removes dangling (untagged) images, or with all every image, skipping those inUse reports
// (inUse is called with the store locked and must not call back into the store). It returns the IDs
// removed.
func (s *Store) Prune(all bool, inUse func(id string) bool) ([]string, error) {
	var removed, trash []string
	err := s.update(func(st *state) error {
		ids := make([]string, 0, len(st.images))
		for id := range st.images {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			if (!all && len(st.tagsOf(id)) > 0) || (inUse != nil && inUse(id)) {
				continue
			}
			s.deleteLocked(st, st.images[id], &trash)
			removed = append(removed, id)
		}
		return nil
	})
	s.emptyTrash(trash)
	if err != nil {
		return nil, err
	}
	return removed, nil
}

// deleteLocked removes rec from st and, once the metadata is saved, its blobs and layers that no
// remaining image uses. Layer directories are first renamed to temporary names (appended to trash)
// so a half-removed layer is never mistaken for a complete one; emptyTrash deletes them without the
// lock held.
func (s *Store) deleteLocked(st *state, rec *imageRecord, trash *[]string) {
	st.deleteImage(rec.ID)
	s.log.Debug("removing image", "id", rec.ID)
	blobs := unusedBlobs(st, rec)
	used := map[string]bool{}
	for _, r := range st.images {
		for _, l := range r.Layers {
			used[l.DiffID] = true
		}
	}
	var dirs []string
	for _, l := range rec.Layers {
		ld, ok := st.layers[l.DiffID]
		if used[l.DiffID] || !ok {
			continue
		}
		delete(st.layers, l.DiffID)
		st.changed.layers = true
		dirs = append(dirs, ld.Dir)
	}
	st.afterSave = append(st.afterSave, func() {
		s.removeBlobs(blobs)
		for _, d := range dirs {
			abs := filepath.Join(s.root, d)
			tmp := filepath.Join(s.root, "l", tmpPrefix()+"rm-"+strings.TrimPrefix(d, "l/"))
			if err := os.Rename(abs, tmp); err != nil {
				s.log.Warn("removing layer", "dir", abs, "err", err)
				continue
			}
			*trash = append(*trash, tmp)
		}
	})
}

func (s *Store) emptyTrash(paths []string) {
	for _, p := range paths {
		if err := os.RemoveAll(p); err != nil {
			s.log.Warn("removing layer", "dir", p, "err", err)
		}
	}
}
