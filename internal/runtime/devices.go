package runtime

import specs "github.com/opencontainers/runtime-spec/specs-go"

// defaultDeviceRules are the device cgroup rules every container gets after
// its own, as runc does: the nodes init creates in /dev (null, zero, full,
// random, urandom, tty, ptmx and the pty slaves) are usable, and mknod is
// allowed (opening a node made that way is still refused).
func defaultDeviceRules() []specs.LinuxDeviceCgroup {
	rule := func(typ string, major, minor int64, access string) specs.LinuxDeviceCgroup {
		r := specs.LinuxDeviceCgroup{Allow: true, Type: typ, Access: access}
		if major >= 0 {
			r.Major = &major
		}
		if minor >= 0 {
			r.Minor = &minor
		}
		return r
	}
	return []specs.LinuxDeviceCgroup{
		rule("c", -1, -1, "m"), rule("b", -1, -1, "m"),
		rule("c", 1, 3, "rwm"), rule("c", 1, 5, "rwm"), rule("c", 1, 7, "rwm"),
		rule("c", 1, 8, "rwm"), rule("c", 1, 9, "rwm"), rule("c", 5, 0, "rwm"),
		rule("c", 5, 2, "rwm"), rule("c", 136, -1, "rwm"),
	}
}

// effectiveResources returns the resources to write: the spec's, with the
// default device rules and an allow rule for each linux.devices entry
// appended, so that the nodes the spec asks for can be used. The spec itself
// is not changed.
func effectiveResources(l *specs.Linux) *specs.LinuxResources {
	r := specs.LinuxResources{}
	if l.Resources != nil {
		r = *l.Resources
	}
	devs := append([]specs.LinuxDeviceCgroup(nil), r.Devices...)
	devs = append(devs, defaultDeviceRules()...)
	for _, d := range l.Devices {
		if d.Type == "p" {
			continue // fifos are not devices to the cgroup
		}
		major, minor := d.Major, d.Minor
		typ := d.Type
		if typ == "u" {
			typ = "c"
		}
		devs = append(devs, specs.LinuxDeviceCgroup{Allow: true, Type: typ, Major: &major, Minor: &minor, Access: "rwm"})
	}
	r.Devices = devs
	return &r
}
