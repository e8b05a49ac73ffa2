package engine

import (
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func testContainer(t *testing.T) (*Engine, *Container, string) {
	t.Helper()
	root := t.TempDir()
	rootfs := filepath.Join(root, "rootfs")
	os.MkdirAll(filepath.Join(rootfs, "etc"), 0o755)
	os.WriteFile(filepath.Join(rootfs, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o644)
	e := &Engine{root: root, exe: "/usr/bin/nook", log: slog.New(slog.DiscardHandler)}
	c := &Container{ID: "0123456789ab" + "0123456789abcdef0123456789abcdef0123456789abcdef0123",
		Config: Config{Hostname: "h", Cmd: []string{"sh"}, Env: []string{"A=1"}},
		Host:   HostConfig{NetworkMode: "bridge"}}
	return e, c, rootfs
}

func TestBuildSpecDefaults(t *testing.T) {
	e, c, rootfs := testContainer(t)
	s, err := e.buildSpec(c, rootfs)
	if err != nil {
		t.Fatal(err)
	}
	if s.Linux.Resources.Pids == nil || s.Linux.Resources.Pids.Limit != DefaultPidsLimit {
		t.Errorf("pids limit = %+v, want the default %d", s.Linux.Resources.Pids, DefaultPidsLimit)
	}
	if s.Linux.Seccomp == nil {
		t.Error("no seccomp profile by default")
	}
	if len(s.Process.Capabilities.Bounding) != 14 {
		t.Errorf("capabilities = %v, want Docker's 14", s.Process.Capabilities.Bounding)
	}
	if !slices.ContainsFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == specs.NetworkNamespace }) {
		t.Error("no network namespace")
	}
	if s.Linux.CgroupsPath != "/nook/"+c.ID || s.Hostname != "h" || s.Process.Cwd != "/" {
		t.Errorf("cgroupsPath %q hostname %q cwd %q", s.Linux.CgroupsPath, s.Hostname, s.Process.Cwd)
	}
	if !slices.Contains(s.Process.Env, "A=1") || !slices.Contains(s.Process.Env, "HOME=/root") || !slices.Contains(s.Process.Env, "HOSTNAME=h") {
		t.Errorf("env = %q", s.Process.Env)
	}
	if len(s.Linux.MaskedPaths) == 0 {
		t.Error("no masked paths")
	}
}

func TestBuildSpecFlags(t *testing.T) {
	e, c, rootfs := testContainer(t)
	c.Host = HostConfig{NetworkMode: "host", Memory: 64 << 20, NanoCpus: 5e8, PidsLimit: -1, Init: true,
		Privileged: true, ReadonlyRootfs: true, Ulimits: []Ulimit{{"nofile", 10, 20}}, SecurityOpt: []string{"no-new-privileges"}}
	c.Config.Tty = true
	s, err := e.buildSpec(c, rootfs)
	if err != nil {
		t.Fatal(err)
	}
	r := s.Linux.Resources
	if *r.Memory.Limit != 64<<20 || *r.CPU.Quota != 50000 || *r.CPU.Period != 100000 || r.Pids != nil {
		t.Errorf("resources = %+v %+v %+v", r.Memory, r.CPU, r.Pids)
	}
	if slices.ContainsFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == specs.NetworkNamespace }) {
		t.Error("--network host has a network namespace")
	}
	if s.Process.Args[0] != initPath || s.Process.Args[1] != "--" || s.Process.Args[2] != "sh" {
		t.Errorf("--init args = %q", s.Process.Args)
	}
	if s.Linux.Seccomp != nil || len(s.Linux.MaskedPaths) != 0 || !s.Root.Readonly || !s.Process.NoNewPrivileges || !s.Process.Terminal {
		t.Error("privileged/read-only/no-new-privileges/tty not applied")
	}
	if !slices.Contains(s.Process.Env, "TERM=xterm") || s.Process.Rlimits[0].Type != "RLIMIT_NOFILE" {
		t.Errorf("env %q rlimits %+v", s.Process.Env, s.Process.Rlimits)
	}
	c.Config.Cmd = nil
	if _, err := e.buildSpec(c, rootfs); err == nil {
		t.Error("no command accepted")
	}
}
