package main

import (
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestToRootless: runc's rootless shape, for the caller's ids.
func TestToRootless(t *testing.T) {
	s := defaultSpec()
	toRootless(s, 1234, 5678)
	if want := (specs.LinuxIDMapping{ContainerID: 0, HostID: 1234, Size: 1}); !slices.Equal(s.Linux.UIDMappings, []specs.LinuxIDMapping{want}) {
		t.Errorf("uidMappings %v, want [%v]", s.Linux.UIDMappings, want)
	}
	if want := (specs.LinuxIDMapping{ContainerID: 0, HostID: 5678, Size: 1}); !slices.Equal(s.Linux.GIDMappings, []specs.LinuxIDMapping{want}) {
		t.Errorf("gidMappings %v, want [%v]", s.Linux.GIDMappings, want)
	}
	var users int
	for _, n := range s.Linux.Namespaces {
		if n.Type == specs.NetworkNamespace {
			t.Error("network namespace kept")
		}
		if n.Type == specs.UserNamespace {
			users++
		}
	}
	if users != 1 || len(s.Linux.Namespaces) != len(defaultSpec().Linux.Namespaces) {
		t.Errorf("namespaces %v: want the defaults, network replaced by one user namespace", s.Linux.Namespaces)
	}
	if s.Linux.Resources != nil {
		t.Errorf("resources kept: %+v", s.Linux.Resources)
	}
	if len(s.Mounts) != len(defaultSpec().Mounts) {
		t.Errorf("%d mounts, want %d", len(s.Mounts), len(defaultSpec().Mounts))
	}
	for _, m := range s.Mounts {
		for _, o := range m.Options {
			if strings.HasPrefix(o, "uid=") || strings.HasPrefix(o, "gid=") {
				t.Errorf("%s keeps %s", m.Destination, o)
			}
		}
		switch m.Destination {
		case "/sys":
			want := specs.Mount{Destination: "/sys", Type: "none", Source: "/sys", Options: []string{"rbind", "nosuid", "noexec", "nodev", "ro"}}
			if m.Type != want.Type || m.Source != want.Source || !slices.Equal(m.Options, want.Options) {
				t.Errorf("/sys mount %+v, want %+v", m, want)
			}
		case "/dev/pts":
			if !slices.Contains(m.Options, "newinstance") {
				t.Errorf("/dev/pts lost its other options: %v", m.Options)
			}
		}
	}
	// Applying it twice changes nothing.
	again := defaultSpec()
	toRootless(again, 1234, 5678)
	toRootless(again, 1234, 5678)
	if len(again.Linux.Namespaces) != len(s.Linux.Namespaces) {
		t.Errorf("toRootless twice: namespaces %v", again.Linux.Namespaces)
	}
}
