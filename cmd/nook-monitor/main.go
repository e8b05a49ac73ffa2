// Command nook-monitor is the lean half of a container's monitor: `nook
// container-monitor` execve()s it in place once the container runs, and it
// waits, logs and relays until the container exits, then execve()s the
// full monitor back (internal/monitor says how). It is a separate, small
// binary so that a running container costs as little memory as it can:
// it links only the standard library, x/sys/unix and nook's small
// internal/monitor and internal/jsonlog (depcheck_test.go keeps it so).
package main

import (
	"fmt"
	"os"

	"github.com/nook-containers/nook/internal/monitor"
)

func main() {
	c, err := monitor.Parse(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "nook-monitor:", err)
		os.Exit(125)
	}
	os.Exit(monitor.Run(c))
}
