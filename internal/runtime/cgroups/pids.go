package cgroups

import (
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// pidsWrites translates to pids.max, the same file on v1 and v2 (pids.rst).
// The OCI spec says a limit of 0 or less means no limit, which is "max".
func pidsWrites(p *specs.LinuxPids) []write {
	if p == nil {
		return nil
	}
	v := "max"
	if p.Limit > 0 {
		v = strconv.FormatInt(p.Limit, 10)
	}
	return []write{{"pids.max", v}}
}
