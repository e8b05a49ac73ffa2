package cgroups

import (
	"fmt"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// devicesV1 translates the device allowlist to cgroup-v1/devices.rst:
// "a" to devices.deny first, which empties the list and makes the default
// deny, then each rule in spec order, so later rules override earlier
// ones as the OCI spec says.
//
// With no rules nothing is written, so Set (for `update`) with other
// resources leaves the device list alone. Rewriting the list of a running
// container briefly denies everything; runc avoids that with a rule
// emulator, which nook does not have yet.
//
// cgroup v2 has no devices files: devicesV2 compiles the same list into an
// eBPF program attached to the cgroup.
func devicesV1(rules []specs.LinuxDeviceCgroup) ([]write, error) {
	if len(rules) == 0 {
		return nil, nil
	}
	w := []write{{"devices.deny", "a"}}
	for _, r := range rules {
		s, err := deviceRule(r)
		if err != nil {
			return nil, err
		}
		file := "devices.deny"
		if r.Allow {
			file = "devices.allow"
		}
		w = append(w, write{file, s})
	}
	return w, nil
}

// deviceRule formats one rule as "TYPE MAJOR:MINOR ACCESS", e.g.
// "c 1:3 rwm"; a missing or -1 number is "*", a missing type "a" (all)
// and missing access "rwm".
func deviceRule(r specs.LinuxDeviceCgroup) (string, error) {
	typ := r.Type
	if typ == "" {
		typ = "a"
	}
	if typ != "a" && typ != "b" && typ != "c" {
		return "", fmt.Errorf("device rule: invalid type %q (want a, b or c)", r.Type)
	}
	access := r.Access
	if access == "" {
		access = "rwm"
	}
	if strings.Trim(access, "rwm") != "" {
		return "", fmt.Errorf("device rule: invalid access %q (want letters of rwm)", r.Access)
	}
	return fmt.Sprintf("%s %s:%s %s", typ, devNum(r.Major), devNum(r.Minor), access), nil
}

func devNum(n *int64) string {
	if n == nil || *n == -1 {
		return "*"
	}
	return strconv.FormatInt(*n, 10)
}
