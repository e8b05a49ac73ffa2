package main

import (
	"encoding/json"
	"os"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"

	"github.com/nook-containers/nook/internal/runtime"
)

// containerState is what `state` prints and each element of `list -f json`:
// runc's containerState (runc's list.go), field for field, because engines
// decode it with runc's field names (containerd's go-runc Container has
// rootfs and created; `runc list` users read owner). The OCI state's fields
// are all there too.
type containerState struct {
	Version     string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Status      string            `json:"status"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Owner       string            `json:"owner"`
}

// stateOf is s as runc shows it: a stopped container's pid is 0 (its init
// is gone; the number may name another process by now).
func stateOf(s *runtime.State) containerState {
	pid := s.Pid
	if s.Status == specs.StateStopped {
		pid = 0
	}
	return containerState{Version: s.Version, ID: s.ID, Pid: pid, Status: string(s.Status), Bundle: s.Bundle,
		Rootfs: s.Rootfs, Created: s.Created, Annotations: s.Annotations}
}

func stateCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "state CONTAINER_ID",
		Short: "print the container's state as the OCI spec's JSON",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withContainer(g, args[0], func(c *runtime.Container) error {
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				// runc leaves owner empty here and fills it only in list.
				return enc.Encode(stateOf(&c.State))
			})
		},
	}
}
