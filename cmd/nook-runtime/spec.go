package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"

	"github.com/nook-containers/nook/internal/runtime/seccomp"
)

var specVersion = specs.Version

// defaultSpec is the config.json `spec` writes: runc's defaults — a shell
// as uid 0 with three capabilities, the usual pseudo-filesystems, masked
// and read-only /proc paths, Docker's seccomp profile, and new pid, network,
// ipc, uts, mount and cgroup namespaces.
func defaultSpec() *specs.Spec {
	capsList := []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
	return &specs.Spec{
		Version: specs.Version,
		Root:    &specs.Root{Path: "rootfs", Readonly: true},
		Process: &specs.Process{
			Terminal: false,
			User:     specs.User{UID: 0, GID: 0},
			Args:     []string{"sh"},
			Env:      []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"},
			Cwd:      "/",
			Capabilities: &specs.LinuxCapabilities{
				Bounding: capsList, Effective: capsList, Permitted: capsList,
			},
			Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024}},
			NoNewPrivileges: true,
		},
		Hostname: "nook",
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
			{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
		},
		Linux: &specs.Linux{
			Resources: &specs.LinuxResources{
				Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
			},
			// Docker's default seccomp profile, for these capabilities.
			Seccomp: seccomp.DefaultProfileFor(capsList),
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.NetworkNamespace}, {Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace}, {Type: specs.MountNamespace}, {Type: specs.CgroupNamespace},
			},
			MaskedPaths: []string{
				"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
				"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
				"/proc/scsi",
			},
			ReadonlyPaths: []string{
				"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
			},
		},
	}
}

// toRootless turns s into a spec an unprivileged user can run, as runc's
// specconv.ToRootless does: a user namespace that maps the user's own uid
// and gid to root (the one mapping an unprivileged process may write), no
// network namespace (a rootless user could not configure one, and sysfs can
// then not be mounted either: /sys is bound from the host instead), no
// uid=/gid= mount options (those ids are not mapped), and no resources
// (an unprivileged user usually has no cgroup to set them in).
func toRootless(s *specs.Spec, uid, gid int) {
	var ns []specs.LinuxNamespace
	for _, n := range s.Linux.Namespaces {
		if n.Type != specs.NetworkNamespace && n.Type != specs.UserNamespace {
			ns = append(ns, n)
		}
	}
	s.Linux.Namespaces = append(ns, specs.LinuxNamespace{Type: specs.UserNamespace})
	s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(uid), Size: 1}}
	s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(gid), Size: 1}}
	var mounts []specs.Mount
	for _, m := range s.Mounts {
		if filepath.Clean(m.Destination) == "/sys" {
			mounts = append(mounts, specs.Mount{
				Destination: "/sys", Type: "none", Source: "/sys",
				Options: []string{"rbind", "nosuid", "noexec", "nodev", "ro"},
			})
			continue
		}
		var opts []string
		for _, o := range m.Options {
			if !strings.HasPrefix(o, "uid=") && !strings.HasPrefix(o, "gid=") {
				opts = append(opts, o)
			}
		}
		m.Options = opts
		mounts = append(mounts, m)
	}
	s.Mounts = mounts
	s.Linux.Resources = nil
}

func specCmd(g *globals) *cobra.Command {
	var bundle string
	var rootless bool
	cmd := &cobra.Command{
		Use:   "spec [flags]",
		Short: "write a default config.json into the bundle",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			path := filepath.Join(bundle, "config.json")
			if _, err := os.Stat(path); err == nil {
				return fmt.Errorf("file %s exists: remove it first", path)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			s := defaultSpec()
			if rootless {
				toRootless(s, os.Geteuid(), os.Getegid())
			}
			data, err := json.MarshalIndent(s, "", "\t")
			if err != nil {
				return err
			}
			return os.WriteFile(path, append(data, '\n'), 0o644)
		},
	}
	cmd.Flags().StringVarP(&bundle, "bundle", "b", ".", "where to write config.json")
	cmd.Flags().BoolVar(&rootless, "rootless", false, "a spec for a rootless container")
	return cmd
}
