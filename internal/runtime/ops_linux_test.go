package runtime

import (
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"1024", 1024, true},
		{"100b", 100, true},
		{"100B", 100, true},
		{"1k", 1 << 10, true},
		{"1K", 1 << 10, true},
		{"1kb", 1 << 10, true},
		{"1KiB", 1 << 10, true},
		{"256m", 256 << 20, true},
		{"256M", 256 << 20, true},
		{"256mb", 256 << 20, true},
		{"256 MiB", 256 << 20, true},
		{"1g", 1 << 30, true},
		{"1.5g", 3 << 29, true},
		{"0.5k", 512, true},
		{"1.0001k", 1024, true}, // rounded down to whole bytes
		{"2t", 2 << 40, true},
		{"3p", 3 << 50, true},
		{"9223372036854775807", 1<<63 - 1, true},
		{"9223372036854775808", 0, false},
		{"8192p", 0, false}, // 2^63
		{"", 0, false},
		{"m", 0, false},
		{"-1", 0, false}, // callers handle -1 themselves
		{"-5m", 0, false},
		{"1.g", 0, false},
		{".5g", 0, false},
		{"1.2.3g", 0, false},
		{"1x", 0, false},
		{"1mm", 0, false},
		{"1  m", 0, false},
		{" 1m", 0, false},
		{"1m ", 0, false},
		{"1e3", 0, false},
		{"0x10", 0, false},
		{"1bi", 0, false},
	} {
		got, err := ParseSize(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"256m", "1.5G", "512 MiB", "100b", "9223372036854775807", "1.0001k"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err != nil {
			if n != 0 {
				t.Fatalf("ParseSize(%q) = %d with error %v", s, n, err)
			}
			return
		}
		if n < 0 {
			t.Fatalf("ParseSize(%q) = %d, negative", s, n)
		}
		// A size without a unit or fraction is its own number.
		if m, err := ParseSize(s + "b"); err == nil && m != n && s[len(s)-1] >= '0' && s[len(s)-1] <= '9' {
			t.Fatalf("ParseSize(%q) = %d but ParseSize(%q) = %d", s, n, s+"b", m)
		}
	})
}

func TestParseCPUMax(t *testing.T) {
	for _, tc := range []struct {
		in     string
		quota  int64
		period uint64
		ok     bool
	}{
		{"max 100000", -1, 100000, true},
		{"50000 100000", 50000, 100000, true},
		{"20000 50000", 20000, 50000, true},
		{"max", 0, 0, false},
		{"x 100000", 0, 0, false},
		{"50000 y", 0, 0, false},
	} {
		q, p, err := parseCPUMax(tc.in)
		if (err == nil) != tc.ok || (tc.ok && (q != tc.quota || p != tc.period)) {
			t.Errorf("parseCPUMax(%q) = %d, %d, %v; want %d, %d, ok=%v", tc.in, q, p, err, tc.quota, tc.period, tc.ok)
		}
	}
}

func TestCgroupFrozen(t *testing.T) {
	dir := t.TempDir()
	write := func(file, v string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, file), []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	v1 := map[string]string{"freezer": dir}
	v2 := map[string]string{"": dir}
	if cgroupFrozen(v1, false) || cgroupFrozen(v2, true) {
		t.Error("frozen with no freezer files")
	}
	if cgroupFrozen(map[string]string{}, false) {
		t.Error("frozen with no freezer hierarchy")
	}
	for state, want := range map[string]bool{"THAWED": false, "FREEZING": true, "FROZEN": true} {
		write("freezer.state", state)
		if got := cgroupFrozen(v1, false); got != want {
			t.Errorf("v1 freezer.state %s: frozen = %v, want %v", state, got, want)
		}
	}
	for v, want := range map[string]bool{"0": false, "1": true} {
		write("cgroup.freeze", v)
		if got := cgroupFrozen(v2, true); got != want {
			t.Errorf("v2 cgroup.freeze %s: frozen = %v, want %v", v, got, want)
		}
	}
}

func TestFillV2(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "cpu.max"), []byte("30000 50000\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "memory.max"), []byte("268435456\n"), 0o644)
	i64 := func(v int64) *int64 { return &v }
	u64 := func(v uint64) *uint64 { return &v }

	r := &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(10000)}}
	if err := fillV2(r, dir); err != nil || *r.CPU.Period != 50000 {
		t.Errorf("quota alone: period %v, err %v; want the current 50000", r.CPU.Period, err)
	}
	r = &specs.LinuxResources{CPU: &specs.LinuxCPU{Period: u64(200000)}}
	if err := fillV2(r, dir); err != nil || *r.CPU.Quota != 30000 {
		t.Errorf("period alone: quota %v, err %v; want the current 30000", r.CPU.Quota, err)
	}
	r = &specs.LinuxResources{Memory: &specs.LinuxMemory{Swap: i64(512 << 20)}}
	if err := fillV2(r, dir); err != nil || r.Memory.Limit == nil || *r.Memory.Limit != 256<<20 {
		t.Errorf("swap alone: limit %v, err %v; want the current 256 MiB", r.Memory.Limit, err)
	}
	r = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(1 << 30)}, CPU: &specs.LinuxCPU{Shares: u64(512)}}
	if err := fillV2(r, dir); err != nil || r.Memory.Swap != nil || r.CPU.Quota != nil || r.CPU.Period != nil {
		t.Errorf("independent values changed: %+v %+v, err %v", r.Memory, r.CPU, err)
	}
}
