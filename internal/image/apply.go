package image

import (
	"io"
	"log/slog"

	"github.com/nook-containers/nook/internal/image/archive"
)

// applyLayer unpacks the uncompressed layer tar r into the empty directory dir, converting
// whiteouts to overlayfs form, and returns the unpacked size.
func applyLayer(dir string, r io.Reader, log *slog.Logger) (int64, error) {
	return archive.Apply(dir, r, archive.Options{Log: log})
}
