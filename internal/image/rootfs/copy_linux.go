package rootfs

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"

	"github.com/nook-containers/nook/internal/image/archive"
)

// copyRecord is what recordPath holds for a copied rootfs.
type copyRecord struct {
	Lowers []string `json:"lowers"`
}

// recordPath is where the copy record of target lives: beside it, so that
// nothing is added to the container's own tree.
func recordPath(target string) string {
	return filepath.Join(filepath.Dir(target), "."+filepath.Base(target)+".nook-copy")
}

// Copied reports whether target holds a copied rootfs (made by Mount when
// overlayfs was unavailable or ForceCopy was set). Such a target holds the
// container's files itself, not a mount of them.
func Copied(target string) (bool, error) {
	_, err := os.Stat(recordPath(target))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// copyLayers applies the lowers (bottom first) into target with archive.Tar
// and archive.ApplyFlat, then, for a read-only rootfs, bind-mounts target on
// itself read-only. A target already holding a copy of the same layers is
// kept as it is: the container's changes live there.
func copyLayers(lowers []string, target string, readOnly bool, log *slog.Logger) error {
	rec, err := readRecord(target)
	if err != nil {
		return fmt.Errorf("copying rootfs into %s: %w", target, err)
	}
	switch {
	case rec != nil && !slices.Equal(rec.Lowers, lowers):
		return fmt.Errorf("copying rootfs into %s: it already holds a copy of other layers", target)
	case rec != nil:
		log.Debug("rootfs copy already in place", "target", target)
	default:
		if err := copyFresh(lowers, target, log); err != nil {
			return err
		}
	}
	if readOnly {
		return bindReadOnly(target, target, log)
	}
	return nil
}

func copyFresh(lowers []string, target string, log *slog.Logger) error {
	entries, err := os.ReadDir(target)
	if err != nil {
		return fmt.Errorf("copying rootfs into %s: %w", target, err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("copying rootfs into %s: the directory is not empty", target)
	}
	log.Info("copying layers into the rootfs (no overlayfs)", "target", target, "layers", len(lowers))
	var total int64
	for _, l := range lowers {
		n, err := copyLayer(l, target, log)
		total += n
		if err != nil {
			if cerr := clearDir(target); cerr != nil {
				log.Warn("removing a half-made rootfs copy", "target", target, "err", cerr)
			}
			return fmt.Errorf("copying layer %s into %s: %w", l, target, err)
		}
	}
	b, err := json.Marshal(copyRecord{Lowers: lowers})
	if err != nil {
		return err
	}
	tmp := recordPath(target) + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("recording the rootfs copy: %w", err)
	}
	if err := os.Rename(tmp, recordPath(target)); err != nil {
		return fmt.Errorf("recording the rootfs copy: %w", err)
	}
	log.Debug("rootfs copied", "target", target, "bytes", total)
	return nil
}

// copyLayer streams the lower directory l (overlayfs form) into target.
func copyLayer(l, target string, log *slog.Logger) (int64, error) {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := archive.Tar(l, pw, archive.Options{Log: log})
		pw.CloseWithError(err)
		done <- err
	}()
	n, err := archive.ApplyFlat(target, pr, archive.Options{Log: log})
	pr.CloseWithError(errors.New("copy stopped")) // unblocks Tar if ApplyFlat gave up
	if terr := <-done; err == nil && terr != nil {
		err = terr
	}
	return n, err
}

func readRecord(target string) (*copyRecord, error) {
	b, err := os.ReadFile(recordPath(target))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rec copyRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("reading %s: %w", recordPath(target), err)
	}
	return &rec, nil
}

// clearDir removes the contents of dir, which must hold no mount.
func clearDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}
