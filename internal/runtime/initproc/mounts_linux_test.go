package initproc

import (
	"io"
	"log/slog"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// These mounts are refused before any system call, so no root is needed.
func TestMountEntryRefuses(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	b := &Bootstrap{Rootfs: "/nonexistent", Spec: &specs.Spec{}}
	tests := []struct {
		mount specs.Mount
		want  string
	}{
		{specs.Mount{Destination: "proc", Type: "proc"}, `mount destination "proc" is not an absolute path`},
		{specs.Mount{Destination: "", Type: "tmpfs"}, `mount destination "" is not an absolute path`},
		{specs.Mount{Destination: "/..", Type: "tmpfs"}, "mount destination / is the rootfs itself"},
		{specs.Mount{Destination: "/data", Source: "/src", Options: []string{"rbind", "idmap"}},
			"mounting /src on /data: idmapped mount not prepared by the runtime"},
	}
	for _, tt := range tests {
		err := mountEntry(b, log, nil, tt.mount)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("mountEntry(%+v) = %v, want %q", tt.mount, err, tt.want)
		}
	}
}
