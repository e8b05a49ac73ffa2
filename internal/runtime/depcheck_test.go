package runtime

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// TestNoEngineDeps keeps the runtime core an OCI runtime and nothing more: a
// bundle in, a container out. It must never import the engine, image or
// network code (go-containerregistry's pkg/registry/depcheck_test.go does
// the same kind of check).
func TestNoEngineDeps(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not found:", err)
	}
	// A compiled test binary run outside the source tree (the cgroup v2 VM
	// lane stages binaries only) has no module to list: the host run checks.
	if gomod, _ := exec.Command(goTool, "env", "GOMOD").Output(); strings.TrimSpace(string(gomod)) == "" ||
		strings.TrimSpace(string(gomod)) == "/dev/null" {
		t.Skip("not inside the nook module")
	}
	const module = "github.com/nook-containers/nook/"
	forbidden := []string{
		module + "internal/engine",
		module + "internal/image",
		module + "internal/network",
	}
	cmd := exec.Command(goTool, "list", "-deps", "-f", "{{.ImportPath}}", module+"internal/runtime/...")
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go list: %v\n%s", err, stderr)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 {
		t.Fatal("go list printed no packages")
	}
	for _, dep := range deps {
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, f+"/") {
				t.Errorf("internal/runtime depends on %s", dep)
			}
		}
	}
}
