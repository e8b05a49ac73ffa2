package cgroups

import (
	"errors"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Which weight file exists depends on the I/O scheduler, not just the
// kernel: CFQ had blkio.weight (gone with CFQ in Linux 5.0), BFQ brings
// blkio.bfq.weight / io.bfq.weight, and v2's io.weight comes from the
// io.cost controller. Weight files exist only below the root cgroup
// (CFTYPE_NOT_ON_ROOT), so callers probe the container's own directory.

var errNoBlkioWeight = errors.New("blkio weight: not supported by this kernel (no blkio.weight or blkio.bfq.weight)")

// blkioV1 translates to cgroup-v1/blkio-controller.rst. has reports
// whether an interface file exists in the target cgroup.
func blkioV1(b *specs.LinuxBlockIO, has func(string) bool) ([]write, error) {
	if b == nil {
		return nil, nil
	}
	weight := ""
	switch {
	case has("blkio.weight"):
		weight = "blkio.weight"
	case has("blkio.bfq.weight"):
		weight = "blkio.bfq.weight"
	}
	var w []write
	if b.Weight != nil && *b.Weight != 0 {
		if weight == "" {
			return nil, errNoBlkioWeight
		}
		w = append(w, write{weight, fmt.Sprint(*b.Weight)})
	}
	if b.LeafWeight != nil && *b.LeafWeight != 0 {
		if !has("blkio.leaf_weight") {
			return nil, errors.New("blkio leaf weight: not supported by this kernel (no blkio.leaf_weight; CFQ only)")
		}
		w = append(w, write{"blkio.leaf_weight", fmt.Sprint(*b.LeafWeight)})
	}
	for _, d := range b.WeightDevice {
		if d.Weight != nil {
			if weight == "" {
				return nil, errNoBlkioWeight
			}
			w = append(w, write{weight + "_device", deviceValue(d.LinuxBlockIODevice, *d.Weight)})
		}
		if d.LeafWeight != nil {
			if !has("blkio.leaf_weight_device") {
				return nil, errors.New("blkio leaf weight: not supported by this kernel (no blkio.leaf_weight_device; CFQ only)")
			}
			w = append(w, write{"blkio.leaf_weight_device", deviceValue(d.LinuxBlockIODevice, *d.LeafWeight)})
		}
	}
	// A rate of 0 removes the device's limit (blkio-controller.rst).
	w = throttle(w, "blkio.throttle.read_bps_device", b.ThrottleReadBpsDevice)
	w = throttle(w, "blkio.throttle.write_bps_device", b.ThrottleWriteBpsDevice)
	w = throttle(w, "blkio.throttle.read_iops_device", b.ThrottleReadIOPSDevice)
	w = throttle(w, "blkio.throttle.write_iops_device", b.ThrottleWriteIOPSDevice)
	return w, nil
}

func throttle(w []write, file string, devs []specs.LinuxThrottleDevice) []write {
	for _, d := range devs {
		w = append(w, write{file, deviceValue(d.LinuxBlockIODevice, d.Rate)})
	}
	return w
}

func deviceValue[T uint16 | uint64](d specs.LinuxBlockIODevice, v T) string {
	return fmt.Sprintf("%d:%d %d", d.Major, d.Minor, v)
}

// blkioWeightToIOWeight maps v1's weight range [10, 1000] linearly onto
// io.weight's [1, 10000] (the runc/crun/systemd conversion).
func blkioWeightToIOWeight(w uint16) uint64 {
	v := uint64(min(max(w, 10), 1000))
	return 1 + (v-10)*9999/990
}

// ioV2 translates to cgroup-v2.rst "IO Interface Files". io.bfq.weight
// takes v1's range unchanged, so it is preferred when BFQ is there.
func ioV2(b *specs.LinuxBlockIO, has func(string) bool) ([]write, error) {
	if b == nil {
		return nil, nil
	}
	bfq := has("io.bfq.weight")
	weight := func(v uint16) string {
		if bfq {
			return fmt.Sprint(v)
		}
		return fmt.Sprint(blkioWeightToIOWeight(v))
	}
	file := "io.weight"
	if bfq {
		file = "io.bfq.weight"
	}
	var w []write
	if b.Weight != nil && *b.Weight != 0 {
		w = append(w, write{file, weight(*b.Weight)})
	}
	if b.LeafWeight != nil && *b.LeafWeight != 0 {
		return nil, errors.New("blkio leaf weight: not supported on cgroup v2")
	}
	for _, d := range b.WeightDevice {
		if d.Weight != nil {
			w = append(w, write{file, fmt.Sprintf("%d:%d %s", d.Major, d.Minor, weight(*d.Weight))})
		}
	}
	// io.max takes one "MAJ:MIN key=value" per write; "max" lifts a limit.
	for _, t := range []struct {
		key  string
		devs []specs.LinuxThrottleDevice
	}{
		{"rbps", b.ThrottleReadBpsDevice},
		{"wbps", b.ThrottleWriteBpsDevice},
		{"riops", b.ThrottleReadIOPSDevice},
		{"wiops", b.ThrottleWriteIOPSDevice},
	} {
		for _, d := range t.devs {
			v := "max"
			if d.Rate != 0 {
				v = fmt.Sprint(d.Rate)
			}
			w = append(w, write{"io.max", fmt.Sprintf("%d:%d %s=%s", d.Major, d.Minor, t.key, v)})
		}
	}
	return w, nil
}
