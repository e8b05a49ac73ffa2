package runtime

import (
	"reflect"
	"strconv"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestEffectiveResources(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	limit := int64(1 << 20)
	own := []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Major: i64(10), Minor: i64(200), Access: "rw"},
	}
	// Spare capacity: an append into it would show up in own's backing array.
	ownSlice := make([]specs.LinuxDeviceCgroup, len(own), len(own)+8)
	copy(ownSlice, own)
	l := &specs.Linux{
		Resources: &specs.LinuxResources{
			Devices: ownSlice,
			Memory:  &specs.LinuxMemory{Limit: &limit},
		},
		Devices: []specs.LinuxDevice{
			{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229},
			{Path: "/dev/loop0", Type: "b", Major: 7, Minor: 0},
			{Path: "/dev/kmsg", Type: "u", Major: 1, Minor: 11},
			{Path: "/dev/fifo", Type: "p", Major: 0, Minor: 0},
		},
	}

	r := effectiveResources(l)

	defaults := defaultDeviceRules()
	want := append(append([]specs.LinuxDeviceCgroup(nil), own...), defaults...)
	want = append(want,
		specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: i64(10), Minor: i64(229), Access: "rwm"},
		specs.LinuxDeviceCgroup{Allow: true, Type: "b", Major: i64(7), Minor: i64(0), Access: "rwm"},
		specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: i64(1), Minor: i64(11), Access: "rwm"},
	)
	if !reflect.DeepEqual(r.Devices, want) {
		t.Errorf("effectiveResources devices:\n got %s\nwant %s", fmtRules(r.Devices), fmtRules(want))
	}
	if r.Memory == nil || r.Memory.Limit == nil || *r.Memory.Limit != limit {
		t.Error("effectiveResources dropped linux.resources.memory")
	}

	// The spec is left as it was.
	if l.Resources.Devices == nil || len(l.Resources.Devices) != len(own) {
		t.Fatalf("spec's device rules changed length: %d, want %d", len(l.Resources.Devices), len(own))
	}
	if !reflect.DeepEqual(l.Resources.Devices, own) {
		t.Errorf("spec's device rules changed: %s", fmtRules(l.Resources.Devices))
	}
	if extra := ownSlice[:cap(ownSlice)][len(own)]; !reflect.DeepEqual(extra, specs.LinuxDeviceCgroup{}) {
		t.Errorf("effectiveResources wrote into the spec's spare capacity: %+v", extra)
	}
	r.Devices[0].Access = "changed"
	if l.Resources.Devices[0].Access != "rwm" {
		t.Error("the result shares its device rules with the spec")
	}
}

func TestEffectiveResourcesNoResources(t *testing.T) {
	l := &specs.Linux{}
	r := effectiveResources(l)
	if r == nil {
		t.Fatal("effectiveResources = nil")
	}
	if !reflect.DeepEqual(r.Devices, defaultDeviceRules()) {
		t.Errorf("devices = %s, want the defaults", fmtRules(r.Devices))
	}
	if l.Resources != nil {
		t.Error("effectiveResources set linux.resources on the spec")
	}
}

func TestDefaultDeviceRules(t *testing.T) {
	// Each call returns fresh pointers: callers may not share Major/Minor.
	a, b := defaultDeviceRules(), defaultDeviceRules()
	for i := range a {
		if a[i].Major != nil && a[i].Major == b[i].Major {
			t.Errorf("rule %d shares its major pointer between calls", i)
		}
		if !a[i].Allow {
			t.Errorf("default rule %d denies: %+v", i, a[i])
		}
	}
	// The wildcard mknod rules have no major or minor.
	if a[0].Major != nil || a[0].Minor != nil || a[0].Access != "m" {
		t.Errorf("rule 0 = %s, want c *:* m", fmtRules(a[:1]))
	}
}

func fmtRules(rs []specs.LinuxDeviceCgroup) string {
	num := func(p *int64) string {
		if p == nil {
			return "*"
		}
		return strconv.FormatInt(*p, 10)
	}
	s := "["
	for i, r := range rs {
		if i > 0 {
			s += ", "
		}
		allow := "deny"
		if r.Allow {
			allow = "allow"
		}
		s += allow + " " + r.Type + " " + num(r.Major) + ":" + num(r.Minor) + " " + r.Access
	}
	return s + "]"
}
