package initproc

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestSchedulerAttr(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   specs.Scheduler
		want schedAttr
		err  string
	}{
		{"other", specs.Scheduler{Policy: specs.SchedOther}, schedAttr{}, ""},
		{"batch nice", specs.Scheduler{Policy: specs.SchedBatch, Nice: 19}, schedAttr{policy: 3, nice: 19}, ""},
		{"idle", specs.Scheduler{Policy: specs.SchedIdle, Nice: -20}, schedAttr{policy: 5, nice: -20}, ""},
		{"iso", specs.Scheduler{Policy: specs.SchedISO}, schedAttr{policy: 4}, ""},
		{"fifo", specs.Scheduler{Policy: specs.SchedFIFO, Priority: 99}, schedAttr{policy: 1, priority: 99}, ""},
		{"rr flags", specs.Scheduler{Policy: specs.SchedRR, Priority: 1, Flags: []specs.LinuxSchedulerFlag{
			specs.SchedFlagResetOnFork, specs.SchedFlagKeepParams, specs.SchedFlagUtilClampMax}},
			schedAttr{policy: 2, priority: 1, flags: 0x51}, ""},
		{"deadline", specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 10e6, Deadline: 30e6, Period: 30e6,
			Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagReclaim, specs.SchedFlagDLOverrun}},
			schedAttr{policy: 6, runtime: 10e6, deadline: 30e6, period: 30e6, flags: 0x6}, ""},
		{"deadline no period", specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 1024, Deadline: 1024},
			schedAttr{policy: 6, runtime: 1024, deadline: 1024}, ""},

		{"no policy", specs.Scheduler{Nice: 1}, schedAttr{}, "policy is required"},
		{"bad policy", specs.Scheduler{Policy: "sched_other"}, schedAttr{}, `unknown policy "sched_other"`},
		{"nice high", specs.Scheduler{Policy: specs.SchedOther, Nice: 20}, schedAttr{}, "nice 20 is outside -20..19"},
		{"nice low", specs.Scheduler{Policy: specs.SchedBatch, Nice: -21}, schedAttr{}, "nice -21"},
		{"fifo no priority", specs.Scheduler{Policy: specs.SchedFIFO}, schedAttr{}, "priority 0 is outside 1..99"},
		{"rr priority high", specs.Scheduler{Policy: specs.SchedRR, Priority: 100}, schedAttr{}, "priority 100"},
		{"priority with other", specs.Scheduler{Policy: specs.SchedOther, Priority: 5}, schedAttr{},
			"priority 5 is only valid with SCHED_FIFO and SCHED_RR"},
		{"runtime with batch", specs.Scheduler{Policy: specs.SchedBatch, Runtime: 1}, schedAttr{},
			"only valid with SCHED_DEADLINE"},
		{"deadline missing", specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 1e6}, schedAttr{}, "deadline is required"},
		{"runtime tiny", specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 1000, Deadline: 1e6}, schedAttr{}, "below the kernel's minimum"},
		{"runtime above deadline", specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 2e6, Deadline: 1e6}, schedAttr{},
			"runtime 2000000 ns is above deadline 1000000 ns"},
		{"period below deadline", specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 1e6, Deadline: 2e6, Period: 1500000},
			schedAttr{}, "period 1500000 ns is below deadline"},
		{"huge deadline", specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 1e6, Deadline: 1 << 63}, schedAttr{}, "below 2^63"},
		{"bad flag", specs.Scheduler{Policy: specs.SchedOther, Flags: []specs.LinuxSchedulerFlag{"SCHED_FLAG_FAST"}},
			schedAttr{}, `unknown flag "SCHED_FLAG_FAST"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := schedulerAttr(&tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				if CheckScheduler(&tt.in) == nil {
					t.Error("CheckScheduler accepted it")
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("= %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestIOPriority(t *testing.T) {
	for _, tt := range []struct {
		in   specs.LinuxIOPriority
		want int
		err  string
	}{
		{specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_RT, Priority: 0}, 1 << 13, ""},
		{specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 7}, 2<<13 | 7, ""},
		{specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_IDLE}, 3 << 13, ""},
		{specs.LinuxIOPriority{Class: "", Priority: 1}, 0, `unknown class ""`},
		{specs.LinuxIOPriority{Class: "IOPRIO_CLASS_NONE"}, 0, "unknown class"},
		{specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 8}, 0, "priority 8 is outside 0..7"},
		{specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_RT, Priority: -1}, 0, "priority -1"},
	} {
		got, err := ioPriority(&tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || CheckIOPriority(&tt.in) == nil {
				t.Errorf("%+v: err = %v, want one containing %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%+v = %#x, %v; want %#x", tt.in, got, err, tt.want)
		}
	}
}

func TestPersonality(t *testing.T) {
	for _, tt := range []struct {
		in   specs.LinuxPersonality
		want uint
		err  string
	}{
		{specs.LinuxPersonality{Domain: specs.PerLinux}, 0, ""},
		{specs.LinuxPersonality{Domain: specs.PerLinux32}, 8, ""},
		{specs.LinuxPersonality{Domain: "linux32"}, 0, `unknown domain "linux32"`},
		{specs.LinuxPersonality{}, 0, `unknown domain ""`},
		{specs.LinuxPersonality{Domain: specs.PerLinux32, Flags: []specs.LinuxPersonalityFlag{"ADDR_NO_RANDOMIZE"}}, 0,
			`flag "ADDR_NO_RANDOMIZE" is not supported`},
	} {
		got, err := personality(&tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || CheckPersonality(&tt.in) == nil {
				t.Errorf("%+v: err = %v, want one containing %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%+v = %#x, %v; want %#x", tt.in, got, err, tt.want)
		}
	}
}
