package runtime

import (
	"fmt"
	"os"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestOwnIDOnly(t *testing.T) {
	if err := ownIDOnly([]specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}, 1000); err != nil {
		t.Errorf("own id refused: %v", err)
	}
	for _, m := range [][]specs.LinuxIDMapping{
		nil,
		{{ContainerID: 0, HostID: 1001, Size: 1}},
		{{ContainerID: 0, HostID: 1000, Size: 2}},
		{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 10}},
	} {
		if err := ownIDOnly(m, 1000); err == nil {
			t.Errorf("ownIDOnly(%v, 1000) accepted", m)
		}
	}
}

func TestRootlessCgroup(t *testing.T) {
	denied := fmt.Errorf("creating cgroup /sys/fs/cgroup/nook: %w", unix.EACCES)
	pids := &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: 10}}
	devices := &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}}
	tests := []struct {
		name string
		err  error
		res  *specs.LinuxResources
		want bool
	}{
		{"no resources", denied, nil, true},
		{"devices only", denied, devices, true},
		{"a limit", denied, pids, false},
		{"another error", fmt.Errorf("x: %w", unix.EINVAL), nil, false},
	}
	for _, tt := range tests {
		want := tt.want && os.Geteuid() != 0 // root never runs without a cgroup
		if got := rootlessCgroup(tt.err, &specs.Linux{Resources: tt.res}); got != want {
			t.Errorf("%s: rootlessCgroup = %v, want %v", tt.name, got, want)
		}
	}
}
