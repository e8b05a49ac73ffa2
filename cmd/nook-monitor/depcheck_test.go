package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps: nook-monitor runs once per container for the container's whole
// life, so what it links is paid per container (every package's init heap,
// the binary's pages). It must not pull in the engine or anything heavy
// (go-containerregistry's pkg/registry/depcheck_test.go does this kind of
// check).
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list -deps: %v\n%s", err, ee.Stderr)
		}
		t.Skipf("go list -deps: %v", err)
	}
	forbidden := []string{
		"github.com/nook-containers/nook/internal/engine",
		"github.com/nook-containers/nook/internal/image",
		"github.com/nook-containers/nook/internal/network",
		"github.com/nook-containers/nook/internal/runtime",
		"github.com/google/go-containerregistry",
		"github.com/miekg/dns",
		"github.com/spf13/cobra",
		"github.com/opencontainers/runtime-spec",
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, f+"/") {
				t.Errorf("nook-monitor depends on %s", dep)
			}
		}
	}
}
