package cgroups

import (
	"fmt"
	"regexp"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// pageSize is the OCI page size format, which is also how the kernel names
// the hugetlb files: "2MB", "1GB", "64KB".
var pageSize = regexp.MustCompile(`^[0-9]+[KMG]B$`)

// hugetlbWrites translates to cgroup-v1/hugetlb.rst (v1: limit_in_bytes)
// or cgroup-v2.rst "HugeTLB Interface Files" (v2: max). The spec asks for
// reservation limits where the kernel has them (Linux 5.7+, the rsvd
// files), which also stop a process from faulting in pages it reserved
// beyond the limit, so they are written too when they exist.
func hugetlbWrites(limits []specs.LinuxHugepageLimit, v2 bool, has func(string) bool) ([]write, error) {
	suffix, rsvd := ".limit_in_bytes", ".rsvd.limit_in_bytes"
	if v2 {
		suffix, rsvd = ".max", ".rsvd.max"
	}
	var w []write
	for _, l := range limits {
		if !pageSize.MatchString(l.Pagesize) {
			return nil, fmt.Errorf("hugepage limit: invalid page size %q", l.Pagesize)
		}
		v := strconv.FormatUint(l.Limit, 10)
		w = append(w, write{"hugetlb." + l.Pagesize + suffix, v})
		if f := "hugetlb." + l.Pagesize + rsvd; has(f) {
			w = append(w, write{f, v})
		}
	}
	return w, nil
}
