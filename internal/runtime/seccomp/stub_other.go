//go:build !linux || !cgo

package seccomp

import (
	"errors"
	"log/slog"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// ErrUnsupported is returned by Load in builds without libseccomp (not Linux,
// or CGO_ENABLED=0). Such a runtime must refuse a spec with linux.seccomp
// rather than run the container unconfined.
var ErrUnsupported = errors.New("seccomp is not supported by this build (needs linux and cgo with libseccomp)")

// Load fails: see ErrUnsupported.
func Load(s *specs.LinuxSeccomp, log *slog.Logger) (int, error) {
	return -1, ErrUnsupported
}

// Check fails: see ErrUnsupported.
func Check(s *specs.LinuxSeccomp, log *slog.Logger) error {
	return ErrUnsupported
}
