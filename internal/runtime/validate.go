package runtime

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nook-containers/nook/internal/runtime/initproc"
)

var idPattern = regexp.MustCompile(`^[\w+\-.]+$`)

// ValidateID checks a container id the way runc does: letters, digits and
// "_+-.", never "." or "..", so that it is always one path element.
func ValidateID(id string) error {
	if id == "" {
		return errors.New("container id cannot be empty")
	}
	if !idPattern.MatchString(id) || id == "." || id == ".." || len(id) > 1024 {
		return fmt.Errorf("invalid container id %q: use letters, digits and _+-.", id)
	}
	return nil
}

// Validate checks a config.json for what nook needs before it creates
// anything, so that bad input never leaves a half-made container behind.
// Each error names the field, as config.json spells it.
func Validate(s *specs.Spec) error {
	if s == nil {
		return errors.New("config.json is empty")
	}
	if !strings.HasPrefix(s.Version, "1.") {
		return fmt.Errorf("config.json: ociVersion %q is not supported (want 1.x)", s.Version)
	}
	if s.Root == nil || s.Root.Path == "" {
		return errors.New("config.json: root.path is required")
	}
	if s.Process == nil {
		return errors.New("config.json: process is required")
	}
	if err := validateProcess(s.Process); err != nil {
		return err
	}
	if s.Linux == nil {
		return errors.New("config.json: linux is required")
	}
	ns, err := validateNamespaces(s.Linux)
	if err != nil {
		return err
	}
	if !ns[specs.MountNamespace] {
		return errors.New("config.json: linux.namespaces: a mount namespace is required")
	}
	if s.Linux.Personality != nil {
		if err := initproc.CheckPersonality(s.Linux.Personality); err != nil {
			return fmt.Errorf("config.json: linux.personality: %w", err)
		}
	}
	if (s.Hostname != "" || s.Domainname != "") && !ns[specs.UTSNamespace] {
		return errors.New("config.json: hostname and domainname need a uts namespace")
	}
	for i, m := range s.Mounts {
		if !filepath.IsAbs(m.Destination) {
			return fmt.Errorf("config.json: mounts[%d].destination %q must be an absolute path", i, m.Destination)
		}
	}
	for key := range s.Linux.Sysctl {
		if err := validateSysctl(key, ns); err != nil {
			return err
		}
	}
	for i, d := range s.Linux.Devices {
		switch d.Type {
		case "c", "b", "u", "p":
		default:
			return fmt.Errorf("config.json: linux.devices[%d].type %q must be one of c, b, u, p", i, d.Type)
		}
		if !filepath.IsAbs(d.Path) {
			return fmt.Errorf("config.json: linux.devices[%d].path %q must be absolute", i, d.Path)
		}
	}
	return nil
}

func validateProcess(p *specs.Process) error {
	if len(p.Args) == 0 || p.Args[0] == "" {
		return errors.New("config.json: process.args must not be empty")
	}
	if !filepath.IsAbs(p.Cwd) {
		return fmt.Errorf("config.json: process.cwd %q must be an absolute path", p.Cwd)
	}
	for _, r := range p.Rlimits {
		if _, ok := rlimitNames[r.Type]; !ok {
			return fmt.Errorf("config.json: process.rlimits: unknown type %q", r.Type)
		}
		if r.Soft > r.Hard {
			return fmt.Errorf("config.json: process.rlimits: %s soft limit %d is above hard limit %d", r.Type, r.Soft, r.Hard)
		}
	}
	if p.OOMScoreAdj != nil && (*p.OOMScoreAdj < -1000 || *p.OOMScoreAdj > 1000) {
		return fmt.Errorf("config.json: process.oomScoreAdj %d is outside -1000..1000", *p.OOMScoreAdj)
	}
	if p.Scheduler != nil {
		if err := initproc.CheckScheduler(p.Scheduler); err != nil {
			return fmt.Errorf("config.json: process.scheduler: %w", err)
		}
	}
	if p.IOPriority != nil {
		if err := initproc.CheckIOPriority(p.IOPriority); err != nil {
			return fmt.Errorf("config.json: process.ioPriority: %w", err)
		}
	}
	return nil
}

// rlimitNames are the RLIMIT_* names the kernel knows (setrlimit(2)).
var rlimitNames = map[string]bool{
	"RLIMIT_AS": true, "RLIMIT_CORE": true, "RLIMIT_CPU": true, "RLIMIT_DATA": true,
	"RLIMIT_FSIZE": true, "RLIMIT_LOCKS": true, "RLIMIT_MEMLOCK": true, "RLIMIT_MSGQUEUE": true,
	"RLIMIT_NICE": true, "RLIMIT_NOFILE": true, "RLIMIT_NPROC": true, "RLIMIT_RSS": true,
	"RLIMIT_RTPRIO": true, "RLIMIT_RTTIME": true, "RLIMIT_SIGPENDING": true, "RLIMIT_STACK": true,
}

var nsTypes = map[specs.LinuxNamespaceType]bool{
	specs.PIDNamespace: true, specs.NetworkNamespace: true, specs.MountNamespace: true,
	specs.IPCNamespace: true, specs.UTSNamespace: true, specs.UserNamespace: true,
	specs.CgroupNamespace: true, specs.TimeNamespace: true,
}

// validateNamespaces returns the set of namespace types the container gets
// (new or joined).
func validateNamespaces(l *specs.Linux) (map[specs.LinuxNamespaceType]bool, error) {
	seen := map[specs.LinuxNamespaceType]bool{}
	for _, n := range l.Namespaces {
		if !nsTypes[n.Type] {
			return nil, fmt.Errorf("config.json: linux.namespaces: unknown type %q", n.Type)
		}
		if seen[n.Type] {
			return nil, fmt.Errorf("config.json: linux.namespaces: %s is listed twice", n.Type)
		}
		if n.Path != "" && !filepath.IsAbs(n.Path) {
			return nil, fmt.Errorf("config.json: linux.namespaces: %s path %q must be absolute", n.Type, n.Path)
		}
		seen[n.Type] = true
	}
	newUser := seen[specs.UserNamespace]
	if newUser && (len(l.UIDMappings) == 0 || len(l.GIDMappings) == 0) && !joinsNamespace(l, specs.UserNamespace) {
		return nil, errors.New("config.json: a new user namespace needs linux.uidMappings and linux.gidMappings")
	}
	if !newUser && (len(l.UIDMappings) > 0 || len(l.GIDMappings) > 0) {
		return nil, errors.New("config.json: linux.uidMappings and linux.gidMappings need a user namespace")
	}
	if len(l.TimeOffsets) > 0 && (!seen[specs.TimeNamespace] || joinsNamespace(l, specs.TimeNamespace)) {
		return nil, errors.New("config.json: linux.timeOffsets need a new time namespace")
	}
	return seen, nil
}

func joinsNamespace(l *specs.Linux, t specs.LinuxNamespaceType) bool {
	for _, n := range l.Namespaces {
		if n.Type == t {
			return n.Path != ""
		}
	}
	return false
}

// validateSysctl refuses sysctls that are not namespaced, or whose namespace
// the container does not get: writing them would change the host.
func validateSysctl(key string, ns map[specs.LinuxNamespaceType]bool) error {
	switch {
	case key == "kernel.hostname" || key == "kernel.domainname":
		if ns[specs.UTSNamespace] {
			return nil
		}
	case strings.HasPrefix(key, "net."):
		if ns[specs.NetworkNamespace] {
			return nil
		}
	case strings.HasPrefix(key, "fs.mqueue.") || strings.HasPrefix(key, "kernel.msg") ||
		strings.HasPrefix(key, "kernel.sem") || strings.HasPrefix(key, "kernel.shm"):
		if ns[specs.IPCNamespace] {
			return nil
		}
	default:
		return fmt.Errorf("config.json: linux.sysctl: %q is not namespaced; setting it would change the host", key)
	}
	return fmt.Errorf("config.json: linux.sysctl: %q needs its namespace in linux.namespaces", key)
}
