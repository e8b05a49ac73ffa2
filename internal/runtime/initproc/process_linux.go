package initproc

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// joinSessionKeyring gives the container a session keyring of its own, as
// runc does, so that keys one container adds are not in every other's
// (and the host's) session keyring. Kernels or sandboxes without keyrings
// (ENOSYS, EACCES) go on without one.
func joinSessionKeyring(b *Bootstrap, log *slog.Logger) error {
	if b.NoNewKeyring {
		return nil
	}
	name := "_ses." + b.ID
	id, err := unix.KeyctlJoinSessionKeyring(name)
	if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EACCES) {
		log.Debug("session keyring not available", "error", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("joining a new session keyring %s: %w", name, err)
	}
	log.Debug("keyctl", "op", "KEYCTL_JOIN_SESSION_KEYRING", "name", name, "id", id)
	return nil
}

// setOOMScoreAdj writes process.oomScoreAdj while the host's /proc is still
// reachable (before pivot_root, in case the spec mounts no /proc).
func setOOMScoreAdj(adj *int, log *slog.Logger) error {
	if adj == nil {
		return nil
	}
	v := strconv.Itoa(*adj)
	if err := os.WriteFile("/proc/self/oom_score_adj", []byte(v), 0); err != nil {
		return fmt.Errorf("setting oom_score_adj to %s: %w", v, err)
	}
	log.Debug("write", "file", "/proc/self/oom_score_adj", "value", v)
	return nil
}

// enterLateNamespaces makes the namespaces that must be made by init itself
// rather than by clone():
//   - cgroup: unshared only now, after the parent moved init into the
//     container's cgroup, so that the namespace's root is that cgroup;
//   - time: clone() cannot take CLONE_NEWTIME (its bit is in CSIGNAL), and
//     unshare only affects children, so the offsets are written now and
//     execve() moves init into the new namespace (time_namespaces(7)).
func enterLateNamespaces(l *specs.Linux, log *slog.Logger) error {
	for _, ns := range l.Namespaces {
		if ns.Path != "" {
			continue
		}
		switch ns.Type {
		case specs.CgroupNamespace:
			if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
				return fmt.Errorf("unsharing the cgroup namespace: %w", err)
			}
			log.Debug("unshare", "flags", "CLONE_NEWCGROUP")
		case specs.TimeNamespace:
			if err := unix.Unshare(unix.CLONE_NEWTIME); err != nil {
				return fmt.Errorf("unsharing the time namespace: %w", err)
			}
			log.Debug("unshare", "flags", "CLONE_NEWTIME")
			if err := writeTimeOffsets(l.TimeOffsets, log); err != nil {
				return err
			}
		}
	}
	return nil
}

func writeTimeOffsets(offsets map[string]specs.LinuxTimeOffset, log *slog.Logger) error {
	for clock, off := range offsets {
		line := fmt.Sprintf("%s %d %d", clock, off.Secs, off.Nanosecs)
		if err := os.WriteFile("/proc/self/timens_offsets", []byte(line), 0); err != nil {
			return fmt.Errorf("writing time offset %q: %w", line, err)
		}
		log.Debug("write", "file", "/proc/self/timens_offsets", "value", line)
	}
	return nil
}

func setHostname(s *specs.Spec, log *slog.Logger) error {
	if s.Hostname != "" {
		if err := unix.Sethostname([]byte(s.Hostname)); err != nil {
			return fmt.Errorf("setting hostname %q: %w", s.Hostname, err)
		}
		log.Debug("sethostname", "name", s.Hostname)
	}
	if s.Domainname != "" {
		if err := unix.Setdomainname([]byte(s.Domainname)); err != nil {
			return fmt.Errorf("setting domainname %q: %w", s.Domainname, err)
		}
		log.Debug("setdomainname", "name", s.Domainname)
	}
	return nil
}

// writeSysctls writes linux.sysctl under the container's own /proc/sys. The
// parent has checked each key belongs to a namespace the container owns.
func writeSysctls(sysctls map[string]string, log *slog.Logger) error {
	for key, value := range sysctls {
		file := filepath.Join("/proc/sys", strings.ReplaceAll(key, ".", "/"))
		if strings.Contains(key, "/") {
			file = filepath.Join("/proc/sys", key)
		}
		if err := os.WriteFile(file, []byte(value), 0); err != nil {
			return fmt.Errorf("setting sysctl %s=%s: %w", key, value, err)
		}
		log.Debug("sysctl", "file", file, "value", value)
	}
	return nil
}

// setRlimits applies process.rlimits. syscall.Setrlimit, not x/sys: Go
// raises its own RLIMIT_NOFILE at start and restores the old one on exec
// unless the limit is set through the syscall package.
func setRlimits(rlimits []specs.POSIXRlimit, log *slog.Logger) error {
	for _, r := range rlimits {
		res, ok := rlimitResources[r.Type]
		if !ok {
			return fmt.Errorf("unknown rlimit %q", r.Type)
		}
		if err := syscall.Setrlimit(res, &syscall.Rlimit{Cur: r.Soft, Max: r.Hard}); err != nil {
			return fmt.Errorf("setting %s to %d/%d: %w", r.Type, r.Soft, r.Hard, err)
		}
		log.Debug("setrlimit", "resource", r.Type, "soft", r.Soft, "hard", r.Hard)
	}
	return nil
}

var rlimitResources = map[string]int{
	"RLIMIT_AS": unix.RLIMIT_AS, "RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_CPU": unix.RLIMIT_CPU,
	"RLIMIT_DATA": unix.RLIMIT_DATA, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_LOCKS": unix.RLIMIT_LOCKS,
	"RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK, "RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE,
	"RLIMIT_NICE": unix.RLIMIT_NICE, "RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_NPROC": unix.RLIMIT_NPROC,
	"RLIMIT_RSS": unix.RLIMIT_RSS, "RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO, "RLIMIT_RTTIME": unix.RLIMIT_RTTIME,
	"RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING, "RLIMIT_STACK": unix.RLIMIT_STACK,
}
