package cgroups

import (
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func i64(v int64) *int64   { return &v }
func u64(v uint64) *uint64 { return &v }
func u16(v uint16) *uint16 { return &v }
func boolp(v bool) *bool   { return &v }
func none(string) bool     { return false }
func all(string) bool      { return true }
func only(files ...string) func(string) bool {
	return func(f string) bool {
		for _, x := range files {
			if x == f {
				return true
			}
		}
		return false
	}
}

// w builds an expected write list from "file=value" strings.
func w(pairs ...string) []write {
	var out []write
	for _, p := range pairs {
		f, v, _ := strings.Cut(p, "=")
		out = append(out, write{f, v})
	}
	return out
}

func check(t *testing.T, name string, got []write, err error, want []write, wantErr string) {
	t.Helper()
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%s: err = %v, want one containing %q", name, err, wantErr)
		}
		return
	}
	if err != nil {
		t.Errorf("%s: unexpected error %v", name, err)
		return
	}
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %v\nwant %v", name, got, want)
	}
}

const mib = 1 << 20

func TestMemoryV2(t *testing.T) {
	for _, tc := range []struct {
		name    string
		m       *specs.LinuxMemory
		want    []write
		wantErr string
	}{
		{"nil", nil, nil, ""},
		{"limit", &specs.LinuxMemory{Limit: i64(50 * mib)}, w("memory.max=52428800"), ""},
		{"zero is unset", &specs.LinuxMemory{Limit: i64(0), Reservation: i64(0)}, nil, ""},
		{"unlimited", &specs.LinuxMemory{Limit: i64(-1)}, w("memory.max=max"), ""},
		{"reservation", &specs.LinuxMemory{Reservation: i64(10 * mib)}, w("memory.low=10485760"), ""},
		{"swap is total minus limit", &specs.LinuxMemory{Limit: i64(50 * mib), Swap: i64(80 * mib)},
			w("memory.swap.max=31457280", "memory.max=52428800"), ""},
		{"swap equal to limit means none", &specs.LinuxMemory{Limit: i64(50 * mib), Swap: i64(50 * mib)},
			w("memory.swap.max=0", "memory.max=52428800"), ""},
		{"swap unlimited", &specs.LinuxMemory{Limit: i64(50 * mib), Swap: i64(-1)},
			w("memory.swap.max=max", "memory.max=52428800"), ""},
		{"swap below limit", &specs.LinuxMemory{Limit: i64(50 * mib), Swap: i64(10 * mib)}, nil, "below the memory limit"},
		{"swap without limit", &specs.LinuxMemory{Swap: i64(10 * mib)}, nil, "needs a memory limit"},
		{"v1-only fields ignored", &specs.LinuxMemory{Swappiness: u64(10), DisableOOMKiller: boolp(true)}, nil, ""},
	} {
		got, err := memoryV2(tc.m)
		check(t, tc.name, got, err, tc.want, tc.wantErr)
	}
}

func TestMemoryV1(t *testing.T) {
	const noLimit = 9223372036854771712
	for _, tc := range []struct {
		name     string
		m        *specs.LinuxMemory
		hasMemsw bool
		curMemsw int64
		want     []write
		wantErr  string
	}{
		{"limit", &specs.LinuxMemory{Limit: i64(50 * mib)}, true, noLimit, w("memory.limit_in_bytes=52428800"), ""},
		{"unlimited", &specs.LinuxMemory{Limit: i64(-1)}, true, noLimit, w("memory.limit_in_bytes=-1"), ""},
		{"lowering: limit first", &specs.LinuxMemory{Limit: i64(50 * mib), Swap: i64(100 * mib)}, true, noLimit,
			w("memory.limit_in_bytes=52428800", "memory.memsw.limit_in_bytes=104857600"), ""},
		{"raising past memsw: memsw first", &specs.LinuxMemory{Limit: i64(200 * mib), Swap: i64(300 * mib)}, true, 100 * mib,
			w("memory.memsw.limit_in_bytes=314572800", "memory.limit_in_bytes=209715200"), ""},
		{"raising to unlimited: memsw first", &specs.LinuxMemory{Limit: i64(-1), Swap: i64(-1)}, true, 100 * mib,
			w("memory.memsw.limit_in_bytes=-1", "memory.limit_in_bytes=-1"), ""},
		{"no swap accounting, swap equals limit", &specs.LinuxMemory{Limit: i64(50 * mib), Swap: i64(50 * mib)}, false, -1,
			w("memory.limit_in_bytes=52428800"), ""},
		{"no swap accounting, swap unlimited", &specs.LinuxMemory{Limit: i64(50 * mib), Swap: i64(-1)}, false, -1,
			w("memory.limit_in_bytes=52428800"), ""},
		{"no swap accounting, swap set", &specs.LinuxMemory{Limit: i64(50 * mib), Swap: i64(80 * mib)}, false, -1,
			nil, "no memory.memsw.limit_in_bytes"},
		{"reservation, swappiness, oom", &specs.LinuxMemory{Reservation: i64(mib), Swappiness: u64(0), DisableOOMKiller: boolp(true)}, true, noLimit,
			w("memory.soft_limit_in_bytes=1048576", "memory.swappiness=0", "memory.oom_control=1"), ""},
		{"oom killer left on", &specs.LinuxMemory{DisableOOMKiller: boolp(false)}, true, noLimit, nil, ""},
		{"bad swappiness", &specs.LinuxMemory{Swappiness: u64(101)}, true, noLimit, nil, "must be 0 to 100"},
	} {
		got, err := memoryV1(tc.m, tc.hasMemsw, tc.curMemsw)
		check(t, tc.name, got, err, tc.want, tc.wantErr)
	}
}

func TestSharesToWeight(t *testing.T) {
	for shares, want := range map[uint64]uint64{2: 1, 1: 1, 1024: 39, 262144: 10000, 1 << 30: 10000, 512: 20} {
		if got := sharesToWeight(shares); got != want {
			t.Errorf("sharesToWeight(%d) = %d, want %d", shares, got, want)
		}
	}
}

func TestCPU(t *testing.T) {
	full := &specs.LinuxCPU{Shares: u64(1024), Quota: i64(50000), Period: u64(100000), Cpus: "0-1", Mems: "0"}
	check(t, "v1", cpuV1(full), nil, w("cpu.shares=1024", "cpu.cfs_period_us=100000", "cpu.cfs_quota_us=50000"), "")
	check(t, "v1 unlimited quota", cpuV1(&specs.LinuxCPU{Quota: i64(-1)}), nil, w("cpu.cfs_quota_us=-1"), "")
	check(t, "v1 rt, burst, idle", cpuV1(&specs.LinuxCPU{RealtimeRuntime: i64(950000), RealtimePeriod: u64(1000000), Burst: u64(1000), Idle: i64(1)}), nil,
		w("cpu.cfs_burst_us=1000", "cpu.rt_period_us=1000000", "cpu.rt_runtime_us=950000", "cpu.idle=1"), "")
	check(t, "cpuset", cpusetWrites(full), nil, w("cpuset.cpus=0-1", "cpuset.mems=0"), "")
	check(t, "cpuset nil", cpusetWrites(nil), nil, nil, "")

	for _, tc := range []struct {
		name    string
		c       *specs.LinuxCPU
		want    []write
		wantErr string
	}{
		{"full", full, w("cpu.weight=39", "cpu.max=50000 100000"), ""},
		{"quota, default period", &specs.LinuxCPU{Quota: i64(20000)}, w("cpu.max=20000 100000"), ""},
		{"period only", &specs.LinuxCPU{Period: u64(50000)}, w("cpu.max=max 50000"), ""},
		{"unlimited quota", &specs.LinuxCPU{Quota: i64(-1), Period: u64(100000)}, w("cpu.max=max 100000"), ""},
		{"zero shares unset", &specs.LinuxCPU{Shares: u64(0)}, nil, ""},
		{"burst idle", &specs.LinuxCPU{Burst: u64(1000), Idle: i64(0)}, w("cpu.max.burst=1000", "cpu.idle=0"), ""},
		{"realtime", &specs.LinuxCPU{RealtimeRuntime: i64(1000)}, nil, "not supported on cgroup v2"},
	} {
		got, err := cpuV2(tc.c)
		check(t, "v2 "+tc.name, got, err, tc.want, tc.wantErr)
	}
}

func TestPids(t *testing.T) {
	check(t, "limit", pidsWrites(&specs.LinuxPids{Limit: 20}), nil, w("pids.max=20"), "")
	check(t, "zero", pidsWrites(&specs.LinuxPids{Limit: 0}), nil, w("pids.max=max"), "")
	check(t, "negative", pidsWrites(&specs.LinuxPids{Limit: -1}), nil, w("pids.max=max"), "")
	check(t, "nil", pidsWrites(nil), nil, nil, "")
}

func TestBlkio(t *testing.T) {
	dev := func(maj, min int64) specs.LinuxBlockIODevice { return specs.LinuxBlockIODevice{Major: maj, Minor: min} }
	io := &specs.LinuxBlockIO{
		Weight:                  u16(500),
		WeightDevice:            []specs.LinuxWeightDevice{{LinuxBlockIODevice: dev(8, 0), Weight: u16(100)}},
		ThrottleReadBpsDevice:   []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev(8, 0), Rate: 1000}},
		ThrottleWriteBpsDevice:  []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev(8, 16), Rate: 0}},
		ThrottleReadIOPSDevice:  []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev(8, 0), Rate: 10}},
		ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev(8, 0), Rate: 20}},
	}
	throttleV1 := w("blkio.throttle.read_bps_device=8:0 1000", "blkio.throttle.write_bps_device=8:16 0",
		"blkio.throttle.read_iops_device=8:0 10", "blkio.throttle.write_iops_device=8:0 20")
	got, err := blkioV1(io, only("blkio.bfq.weight"))
	check(t, "v1 bfq", got, err, append(w("blkio.bfq.weight=500", "blkio.bfq.weight_device=8:0 100"), throttleV1...), "")
	got, err = blkioV1(io, only("blkio.weight", "blkio.bfq.weight"))
	check(t, "v1 cfq", got, err, append(w("blkio.weight=500", "blkio.weight_device=8:0 100"), throttleV1...), "")
	got, err = blkioV1(io, none)
	check(t, "v1 no weight file", got, err, nil, "blkio weight: not supported by this kernel (no blkio.weight or blkio.bfq.weight)")
	got, err = blkioV1(&specs.LinuxBlockIO{ThrottleReadBpsDevice: io.ThrottleReadBpsDevice}, none)
	check(t, "v1 throttle only needs no weight file", got, err, w("blkio.throttle.read_bps_device=8:0 1000"), "")
	got, err = blkioV1(&specs.LinuxBlockIO{LeafWeight: u16(10)}, none)
	check(t, "v1 leaf weight", got, err, nil, "CFQ only")

	throttleV2 := w("io.max=8:0 rbps=1000", "io.max=8:16 wbps=max", "io.max=8:0 riops=10", "io.max=8:0 wiops=20")
	got, err = ioV2(io, none)
	check(t, "v2 io.weight", got, err, append(w("io.weight=4950", "io.weight=8:0 910"), throttleV2...), "")
	got, err = ioV2(io, only("io.bfq.weight"))
	check(t, "v2 bfq", got, err, append(w("io.bfq.weight=500", "io.bfq.weight=8:0 100"), throttleV2...), "")
	for weight, want := range map[uint16]uint64{10: 1, 1000: 10000, 100: 910, 1: 1, 5000: 10000} {
		if got := blkioWeightToIOWeight(weight); got != want {
			t.Errorf("blkioWeightToIOWeight(%d) = %d, want %d", weight, got, want)
		}
	}
}

func TestHugetlb(t *testing.T) {
	limits := []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4 * mib}, {Pagesize: "1GB", Limit: 0}}
	got, err := hugetlbWrites(limits, false, none)
	check(t, "v1", got, err, w("hugetlb.2MB.limit_in_bytes=4194304", "hugetlb.1GB.limit_in_bytes=0"), "")
	got, err = hugetlbWrites(limits[:1], true, all)
	check(t, "v2 with rsvd", got, err, w("hugetlb.2MB.max=4194304", "hugetlb.2MB.rsvd.max=4194304"), "")
	got, err = hugetlbWrites([]specs.LinuxHugepageLimit{{Pagesize: "../2MB"}}, true, none)
	check(t, "bad size", got, err, nil, "invalid page size")
}

func TestDevicesV1(t *testing.T) {
	rules := []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Major: i64(1), Minor: i64(3), Access: "rwm"},
		{Allow: true, Type: "c", Major: i64(136), Minor: i64(-1), Access: "rw"},
		{Allow: true, Type: "b", Major: nil, Minor: nil},
		{Allow: false, Type: "c", Major: i64(5), Minor: i64(1), Access: "m"},
	}
	got, err := devicesV1(rules)
	check(t, "rules", got, err, w("devices.deny=a", "devices.deny=a *:* rwm", "devices.allow=c 1:3 rwm",
		"devices.allow=c 136:* rw", "devices.allow=b *:* rwm", "devices.deny=c 5:1 m"), "")
	got, err = devicesV1(nil)
	check(t, "none", got, err, nil, "")
	_, err = devicesV1([]specs.LinuxDeviceCgroup{{Type: "p"}})
	check(t, "bad type", nil, err, nil, "invalid type")
	_, err = devicesV1([]specs.LinuxDeviceCgroup{{Type: "c", Access: "rwx"}})
	check(t, "bad access", nil, err, nil, "invalid access")
}

func TestUnifiedWrites(t *testing.T) {
	got, err := unifiedWrites(map[string]string{"memory.high": "1000000", "cpu.weight": "50"})
	check(t, "sorted", got, err, w("cpu.weight=50", "memory.high=1000000"), "")
	_, err = unifiedWrites(map[string]string{"../../x": "1"})
	check(t, "escape", nil, err, nil, "not a cgroup file name")
}
