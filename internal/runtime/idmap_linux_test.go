package runtime

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestIDMapMappings(t *testing.T) {
	one := []specs.LinuxIDMapping{{ContainerID: 1000, HostID: 0, Size: 1}}
	ctr := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	withMount := func(m specs.Mount, ns ...specs.LinuxNamespace) *specs.Spec {
		s := &specs.Spec{Mounts: []specs.Mount{m}, Linux: &specs.Linux{Namespaces: ns}}
		for _, n := range ns {
			if n.Type == specs.UserNamespace && n.Path == "" {
				s.Linux.UIDMappings, s.Linux.GIDMappings = ctr, ctr
			}
		}
		return s
	}
	bind := func(uids, gids []specs.LinuxIDMapping, opts ...string) specs.Mount {
		return specs.Mount{Destination: "/data", Source: "/src", Options: append([]string{"bind"}, opts...), UIDMappings: uids, GIDMappings: gids}
	}
	userns := specs.LinuxNamespace{Type: specs.UserNamespace}
	tests := []struct {
		name       string
		spec       *specs.Spec
		uids       []specs.LinuxIDMapping
		usernsPath string
		err        string
	}{
		{"own mappings", withMount(bind(one, one, "idmap")), one, "", ""},
		{"own mappings win over the container's", withMount(bind(one, one, "idmap"), userns), one, "", ""},
		{"the container's", withMount(bind(nil, nil, "idmap"), userns), ctr, "", ""},
		{"a joined user namespace", withMount(bind(nil, nil, "ridmap"), specs.LinuxNamespace{Type: specs.UserNamespace, Path: "/proc/1/ns/user"}), nil, "/proc/1/ns/user", ""},
		{"none at all", withMount(bind(nil, nil, "idmap")), nil, "", "needs uidMappings and gidMappings, or a container user namespace"},
		{"uids only", withMount(bind(one, nil, "idmap")), nil, "", "must be given together"},
		{"gids only", withMount(bind(nil, one, "idmap")), nil, "", "must be given together"},
		{"not a bind", withMount(specs.Mount{Destination: "/data", Type: "tmpfs", Options: []string{"idmap"}, UIDMappings: one, GIDMappings: one}), nil, "", "must be bind mounts"},
		{"size 0", withMount(bind([]specs.LinuxIDMapping{{Size: 0}}, one)), nil, "", "uidMappings: entry 0 has size 0"},
		{"overflow", withMount(bind(one, []specs.LinuxIDMapping{{ContainerID: 1 << 31, HostID: 0, Size: 1 << 31}})), nil, "", "gidMappings: entry 0 (2147483648 0 2147483648) goes past the largest id"},
		{"host overlap", withMount(bind([]specs.LinuxIDMapping{{ContainerID: 0, HostID: 10, Size: 5}, {ContainerID: 100, HostID: 14, Size: 5}}, one)), nil, "", "entries 0 and 1 overlap in hostID"},
	}
	for _, tt := range tests {
		uids, gids, path, err := idmapMappings(tt.spec, 0)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.HasPrefix(err.Error(), "config.json: mounts[0] (/data): ") {
				t.Errorf("%s: err %v, want %q", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil || path != tt.usernsPath || len(uids) != len(tt.uids) || len(gids) != len(tt.uids) {
			t.Errorf("%s: %v %v %q %v, want %v %q", tt.name, uids, gids, path, err, tt.uids, tt.usernsPath)
			continue
		}
		for i := range uids {
			if uids[i] != tt.uids[i] {
				t.Errorf("%s: uids %v, want %v", tt.name, uids, tt.uids)
			}
		}
	}
}

func TestCheckIDMappingsAdjacent(t *testing.T) {
	// Touching ranges are fine; so is the whole 32-bit space but one id.
	ok := [][]specs.LinuxIDMapping{
		{{ContainerID: 0, HostID: 100, Size: 10}, {ContainerID: 10, HostID: 110, Size: 10}},
		{{ContainerID: 0, HostID: 0, Size: 1<<32 - 1}},
	}
	for _, m := range ok {
		if err := checkIDMappings(m); err != nil {
			t.Errorf("checkIDMappings(%v) = %v", m, err)
		}
	}
}
