package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nook-containers/nook/internal/runtime"
)

func updateCmd(g *globals) *cobra.Command {
	var resources string
	cmd := &cobra.Command{
		Use:   "update [flags] CONTAINER_ID",
		Short: "change the container's resource limits",
		Long: `update writes new limits to the container's cgroup. Only the values given change.

--resources FILE (or - for stdin) takes the OCI spec's linux.resources JSON,
for example {"memory": {"limit": 268435456}, "pids": {"limit": 100}}; the other
flags are then ignored, as with runc. Sizes take runc's forms: 256m, 1g, 1.5G,
plain bytes; -1 means unlimited.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var r *specs.LinuxResources
			var err error
			if resources != "" {
				r, err = readResources(resources)
			} else {
				r, err = resourcesFromFlags(cmd.Flags())
			}
			if err != nil {
				return err
			}
			c, err := runtime.Load(g.root, args[0])
			if err != nil {
				return err
			}
			defer c.Close()
			return c.Update(r, g.log)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&resources, "resources", "r", "", "JSON file with the linux.resources to set, or - for stdin")
	f.String("memory", "", "memory limit (bytes or 256m, 1g...; -1 for none)")
	f.String("memory-reservation", "", "memory soft limit (bytes or 256m, 1g...)")
	f.String("memory-swap", "", "memory+swap limit (bytes or 256m, 1g...; -1 for unlimited swap)")
	f.String("cpu-share", "", "CPU shares (relative weight against other containers)")
	f.String("cpu-shares", "", "same as --cpu-share")
	f.String("cpu-quota", "", "CPU CFS quota in microseconds per period (-1 for none)")
	f.String("cpu-period", "", "CPU CFS period in microseconds")
	f.String("cpu-burst", "", "CPU CFS burst in microseconds")
	f.String("cpu-rt-period", "", "CPU realtime period in microseconds (cgroup v1)")
	f.String("cpu-rt-runtime", "", "CPU realtime runtime in microseconds per period (cgroup v1)")
	f.String("cpu-idle", "", "1 to give the container SCHED_IDLE priority, 0 for normal")
	f.String("cpuset-cpus", "", "CPUs the container may use (0-3,5)")
	f.String("cpuset-mems", "", "memory nodes the container may use")
	f.Int64("pids-limit", 0, "maximum number of tasks in the container (-1 for none)")
	f.Uint16("blkio-weight", 0, "block IO weight, 10 to 1000")
	f.MarkHidden("cpu-shares")
	return cmd
}

// readResources decodes linux.resources JSON from a file or, for "-",
// stdin. As with runc, a pids limit of 0 means "leave it".
func readResources(path string) (*specs.LinuxResources, error) {
	var in io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		in = f
	}
	var r specs.LinuxResources
	if err := json.NewDecoder(in).Decode(&r); err != nil {
		return nil, fmt.Errorf("decoding resources from %s: %w", path, err)
	}
	if r.Pids != nil && r.Pids.Limit == 0 {
		r.Pids = nil
	}
	return &r, nil
}

// resourcesFromFlags builds resources from the flags given; the sections
// no flag touches stay nil, so Set leaves their files alone.
func resourcesFromFlags(f *pflag.FlagSet) (*specs.LinuxResources, error) {
	r := &specs.LinuxResources{}
	cpu := func() *specs.LinuxCPU {
		if r.CPU == nil {
			r.CPU = &specs.LinuxCPU{}
		}
		return r.CPU
	}
	mem := func() *specs.LinuxMemory {
		if r.Memory == nil {
			r.Memory = &specs.LinuxMemory{}
		}
		return r.Memory
	}
	str := func(name string) (string, bool) {
		if !f.Changed(name) {
			return "", false
		}
		v, _ := f.GetString(name)
		return v, v != ""
	}
	for _, p := range []struct {
		name string
		dst  func() **int64
	}{
		{"memory", func() **int64 { return &mem().Limit }},
		{"memory-reservation", func() **int64 { return &mem().Reservation }},
		{"memory-swap", func() **int64 { return &mem().Swap }},
	} {
		if v, ok := str(p.name); ok {
			n := int64(-1)
			if v != "-1" {
				var err error
				if n, err = runtime.ParseSize(v); err != nil {
					return nil, fmt.Errorf("invalid value for --%s: %w", p.name, err)
				}
			}
			*p.dst() = &n
		}
	}
	// runc: --memory -1 alone means memory and swap both unlimited.
	if m := r.Memory; m != nil && m.Limit != nil && *m.Limit == -1 && m.Swap == nil {
		unlimited := int64(-1)
		m.Swap = &unlimited
	}
	for _, p := range []struct {
		name string
		dst  func() **uint64
	}{
		{"cpu-share", func() **uint64 { return &cpu().Shares }},
		{"cpu-shares", func() **uint64 { return &cpu().Shares }},
		{"cpu-period", func() **uint64 { return &cpu().Period }},
		{"cpu-burst", func() **uint64 { return &cpu().Burst }},
		{"cpu-rt-period", func() **uint64 { return &cpu().RealtimePeriod }},
	} {
		if v, ok := str(p.name); ok {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("invalid value for --%s: %w", p.name, err)
			}
			*p.dst() = &n
		}
	}
	for _, p := range []struct {
		name string
		dst  func() **int64
	}{
		{"cpu-quota", func() **int64 { return &cpu().Quota }},
		{"cpu-rt-runtime", func() **int64 { return &cpu().RealtimeRuntime }},
		{"cpu-idle", func() **int64 { return &cpu().Idle }},
	} {
		if v, ok := str(p.name); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("invalid value for --%s: %w", p.name, err)
			}
			*p.dst() = &n
		}
	}
	if v, ok := str("cpuset-cpus"); ok {
		cpu().Cpus = v
	}
	if v, ok := str("cpuset-mems"); ok {
		cpu().Mems = v
	}
	// As with runc, 0 leaves the pids limit and the blkio weight alone.
	if n, _ := f.GetInt64("pids-limit"); n != 0 {
		r.Pids = &specs.LinuxPids{Limit: n}
	}
	if w, _ := f.GetUint16("blkio-weight"); w != 0 {
		r.BlockIO = &specs.LinuxBlockIO{Weight: &w}
	}
	return r, nil
}
