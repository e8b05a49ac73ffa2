package cgroups

import (
	"os"
	"path/filepath"
	"testing"
)

// ownProcsFile names this process's own cgroup in the hierarchy the mode
// says, found through /proc/self/cgroup.
func TestOwnProcsFile(t *testing.T) {
	own := selfCgroups(t)
	root := t.TempDir()
	if p, ok := own[""]; ok {
		if got, want := ownProcsFile(root, Unified), filepath.Join(root, p, "cgroup.procs"); got != want {
			t.Errorf("unified: %q, want %q", got, want)
		}
		if got, want := ownProcsFile(root, Hybrid), filepath.Join(root, "unified", p, "cgroup.procs"); got != want {
			t.Errorf("hybrid: %q, want %q", got, want)
		}
	}
	// legacy: the first v1 hierarchy that is mounted (here: has a directory)
	if got := ownProcsFile(root, Legacy); got != "" {
		t.Errorf("legacy, nothing mounted: %q, want none", got)
	}
	if p, ok := own["pids"]; ok {
		os.Mkdir(filepath.Join(root, "pids"), 0o755)
		if got, want := ownProcsFile(root, Legacy), filepath.Join(root, "pids", p, "cgroup.procs"); got != want {
			t.Errorf("legacy: %q, want %q", got, want)
		}
	} else if _, ok := own[""]; !ok {
		t.Errorf("no v2 line and no pids line in /proc/self/cgroup: %v", own)
	}
}
