package cgroups

import (
	"log/slog"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// cpusetWrites translates the cpuset fields; the file names are the same
// on v1 and v2 (cpusets.rst, cgroup-v2.rst "Cpuset Interface Files").
func cpusetWrites(c *specs.LinuxCPU) []write {
	if c == nil {
		return nil
	}
	var w []write
	if c.Cpus != "" {
		w = append(w, write{"cpuset.cpus", c.Cpus})
	}
	if c.Mems != "" {
		w = append(w, write{"cpuset.mems", c.Mems})
	}
	return w
}

// inheritCpuset fills a v1 cpuset directory's empty cpuset.cpus and
// cpuset.mems from its parent. A new v1 cpuset starts with both empty and
// the kernel refuses to attach a task to it (ENOSPC) until they are set
// (cpusets.rst 1.7 and 2.1); v2 has no such trap, and with
// cgroup.clone_children=0 (the default) v1 does not copy them itself.
func inheritCpuset(log *slog.Logger, dir, parent string) error {
	for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
		cur, err := readFile(dir, f)
		if err != nil {
			return err
		}
		if cur != "" {
			continue
		}
		v, err := readFile(parent, f)
		if err != nil {
			return err
		}
		if err := writeFile(log, dir, f, v); err != nil {
			return err
		}
	}
	return nil
}
