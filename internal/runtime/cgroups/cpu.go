package cgroups

import (
	"errors"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// defaultPeriod is the kernel's default CFS period in microseconds
// (sched-bwc.rst), used for cpu.max when the spec gives a quota alone.
const defaultPeriod = 100000

// sharesToWeight maps v1 cpu.shares [2, 262144] linearly onto v2 cpu.weight
// [1, 10000], the conversion runc, crun and systemd agree on (so a spec
// written for v1 means the same on v2). shares 0 means "not set".
func sharesToWeight(shares uint64) uint64 {
	shares = min(max(shares, 2), 262144)
	return 1 + ((shares-2)*9999)/262142
}

// cpuV1 translates to the cpu controller files of sched-bwc.rst and
// sched-rt-group.rst. Periods go before quotas and runtimes: the kernel
// checks a quota against the period in place.
func cpuV1(c *specs.LinuxCPU) []write {
	if c == nil {
		return nil
	}
	var w []write
	if c.Shares != nil && *c.Shares != 0 {
		w = append(w, write{"cpu.shares", strconv.FormatUint(*c.Shares, 10)})
	}
	if c.Period != nil && *c.Period != 0 {
		w = append(w, write{"cpu.cfs_period_us", strconv.FormatUint(*c.Period, 10)})
	}
	if setInt(c.Quota) {
		w = append(w, write{"cpu.cfs_quota_us", strconv.FormatInt(*c.Quota, 10)})
	}
	if c.Burst != nil {
		w = append(w, write{"cpu.cfs_burst_us", strconv.FormatUint(*c.Burst, 10)})
	}
	if c.RealtimePeriod != nil && *c.RealtimePeriod != 0 {
		w = append(w, write{"cpu.rt_period_us", strconv.FormatUint(*c.RealtimePeriod, 10)})
	}
	if setInt(c.RealtimeRuntime) {
		w = append(w, write{"cpu.rt_runtime_us", strconv.FormatInt(*c.RealtimeRuntime, 10)})
	}
	if c.Idle != nil {
		w = append(w, write{"cpu.idle", strconv.FormatInt(*c.Idle, 10)})
	}
	return w
}

// cpuV2 translates to cgroup-v2.rst "CPU Interface Files". cpu.max holds
// quota and period together: "$MAX $PERIOD", with "max" for no quota.
// Realtime bandwidth has no v2 interface: real-time tasks must stay in the
// root cgroup there, so asking for it is an error rather than a silent no.
func cpuV2(c *specs.LinuxCPU) ([]write, error) {
	if c == nil {
		return nil, nil
	}
	if setInt(c.RealtimeRuntime) || (c.RealtimePeriod != nil && *c.RealtimePeriod != 0) {
		return nil, errors.New("cpu realtime period/runtime: not supported on cgroup v2")
	}
	var w []write
	if c.Shares != nil && *c.Shares != 0 {
		w = append(w, write{"cpu.weight", strconv.FormatUint(sharesToWeight(*c.Shares), 10)})
	}
	period := uint64(0)
	if c.Period != nil {
		period = *c.Period
	}
	if setInt(c.Quota) || period != 0 {
		quota := "max"
		if c.Quota != nil && *c.Quota > 0 {
			quota = strconv.FormatInt(*c.Quota, 10)
		}
		if period == 0 {
			period = defaultPeriod
		}
		w = append(w, write{"cpu.max", quota + " " + strconv.FormatUint(period, 10)})
	}
	if c.Burst != nil {
		w = append(w, write{"cpu.max.burst", strconv.FormatUint(*c.Burst, 10)})
	}
	if c.Idle != nil {
		w = append(w, write{"cpu.idle", strconv.FormatInt(*c.Idle, 10)})
	}
	return w, nil
}
