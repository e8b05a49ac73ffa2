package main

import (
	"fmt"
	"strconv"

	"github.com/nook-containers/nook/internal/runtime/caps"
	"github.com/nook-containers/nook/test/probe/report"
)

// parseCapSet decodes a capability mask as /proc/self/status shows it
// ("000001ffffffffff"). The hex is kept as the kernel wrote it.
func parseCapSet(hex string) (report.CapSet, error) {
	mask, err := strconv.ParseUint(hex, 16, 64)
	if err != nil {
		return report.CapSet{Hex: hex, Names: []string{}}, fmt.Errorf("malformed capability mask %q", hex)
	}
	return report.CapSet{Hex: hex, Names: caps.Names(mask)}, nil
}
