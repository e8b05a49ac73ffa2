package cgroups

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"strings"
)

// ErrSystemdPath is returned for a "slice:prefix:name" cgroupsPath given
// to the cgroupfs driver: it is meant for the systemd one.
var ErrSystemdPath = errors.New("that is the systemd driver's slice:prefix:name form; use --systemd-cgroup")

// defaultParent holds the cgroups of containers whose spec names none.
const defaultParent = "/nook"

// New returns the manager for cgroupsPath (spec linux.cgroupsPath) of the
// container id on this host:
//   - "" means /nook/<id>;
//   - an absolute path is relative to the root of each hierarchy;
//   - a relative path is relative to the calling process's own cgroup, as
//     listed in /proc/self/cgroup (what runc does).
//
// New only computes paths; Create makes the directories.
func New(cgroupsPath, id string, log *slog.Logger) (Manager, error) {
	return NewAt(DefaultRoot, DetectMode(), cgroupsPath, id, log)
}

// NewAt is New with another mount root and an explicit mode, so tests can
// point it at a temporary directory of plain files.
func NewAt(root string, mode Mode, cgroupsPath, id string, log *slog.Logger) (Manager, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p, err := parsePath(cgroupsPath, id)
	if err != nil {
		return nil, err
	}
	if p.relative {
		data, err := os.ReadFile("/proc/self/cgroup")
		if err != nil {
			return nil, fmt.Errorf("resolving relative cgroup path %q: %w", cgroupsPath, err)
		}
		if p.self, err = parseProcCgroup(string(data)); err != nil {
			return nil, fmt.Errorf("resolving relative cgroup path %q: %w", cgroupsPath, err)
		}
	}
	if mode == Unified {
		return newV2(root, p, log), nil
	}
	return newV1(root, mode, p, log), nil
}

// cgroupPath is a parsed linux.cgroupsPath.
type cgroupPath struct {
	rel       string            // cleaned, starts with "/"
	relative  bool              // rel is below the caller's own cgroup
	isDefault bool              // rel is defaultParent/<id>: Destroy may remove defaultParent
	self      map[string]string // the caller's cgroups, when relative
}

func parsePath(cgroupsPath, id string) (cgroupPath, error) {
	if cgroupsPath == "" {
		if id == "" || id == "." || id == ".." || strings.Contains(id, "/") {
			return cgroupPath{}, fmt.Errorf("container id %q cannot name a cgroup", id)
		}
		return cgroupPath{rel: defaultParent + "/" + id, isDefault: true}, nil
	}
	if !strings.HasPrefix(cgroupsPath, "/") && strings.Count(cgroupsPath, ":") == 2 {
		return cgroupPath{}, fmt.Errorf("cgroups path %q: %w", cgroupsPath, ErrSystemdPath)
	}
	// Cleaning "/"+p keeps ".." from climbing above the hierarchy root
	// (or, for a relative path, above the caller's own cgroup).
	rel := path.Clean("/" + cgroupsPath)
	if rel == "/" {
		// Destroy would then remove every empty cgroup below it.
		return cgroupPath{}, fmt.Errorf("cgroups path %q: names the root cgroup, not one for the container", cgroupsPath)
	}
	abs := strings.HasPrefix(cgroupsPath, "/")
	// The default's own form given explicitly (nook's engine names it, so
	// that it finds the cgroup with any runtime): the same parent to tidy.
	return cgroupPath{rel: rel, relative: !abs, isDefault: abs && rel == defaultParent+"/"+id}, nil
}

// under returns the path inside the hierarchy of controller key ("" for
// v2): rel itself, or rel below the caller's own cgroup there.
func (p cgroupPath) under(key string) string {
	if !p.relative {
		return p.rel
	}
	return path.Join("/", p.self[key], p.rel)
}

// parseProcCgroup parses /proc/<pid>/cgroup (cgroups(7)): lines of
// "hierarchy-ID:controller-list:cgroup-path". It maps each controller
// ("memory", "name=systemd") to its path; the v2 line, whose controller
// list is empty, maps to key "".
func parseProcCgroup(data string) (map[string]string, error) {
	m := make(map[string]string)
	for line := range strings.Lines(data) {
		line = strings.TrimRight(line, "\n")
		if line == "" {
			continue
		}
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 || parts[0] == "" || !strings.HasPrefix(parts[2], "/") {
			return nil, fmt.Errorf("parsing /proc/self/cgroup line %q: want id:controllers:/path", line)
		}
		if parts[1] == "" {
			m[""] = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c != "" {
				m[c] = parts[2]
			}
		}
	}
	return m, nil
}
