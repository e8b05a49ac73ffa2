package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// schedInfo is what "probe sched" prints (test/probe/sched.go).
type schedInfo struct {
	Policy      uint32   `json:"policy"`
	Flags       uint64   `json:"flags"`
	Nice        int32    `json:"nice"`
	Priority    uint32   `json:"priority"`
	IOPrioClass int      `json:"ioprioClass"`
	IOPrioLevel int      `json:"ioprioLevel"`
	Personality uint     `json:"personality"`
	Machine     string   `json:"machine"`
	Errors      []string `json:"errors"`
}

func decodeSched(t *testing.T, r result) schedInfo {
	t.Helper()
	var s schedInfo
	if r.code != 0 {
		t.Fatalf("probe sched: %s", r)
	}
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		t.Fatalf("decoding probe sched: %v\n%s", err, r)
	}
	if len(s.Errors) > 0 {
		t.Errorf("probe sched errors: %v", s.Errors)
	}
	return s
}

// writeProcess writes an exec --process file and returns its path.
func (e *env) writeProcess(p specs.Process) string {
	e.t.Helper()
	data, err := json.Marshal(p)
	if err != nil {
		e.t.Fatal(err)
	}
	file := filepath.Join(e.dir, "process.json")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		e.t.Fatal(err)
	}
	return file
}

// TestPersonality: linux.personality LINUX32 makes uname report a 32-bit
// machine, in the init's program and in exec'd processes (as runc does).
func TestPersonality(t *testing.T) {
	e := newEnv(t).args("/probe", "sched")
	e.spec.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux32}
	s := decodeSched(t, e.run())
	if s.Machine != "i686" || s.Personality != 8 {
		t.Errorf("LINUX32: machine %q personality %#x, want i686 and 0x8", s.Machine, s.Personality)
	}
	e = newEnv(t)
	e.spec.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux32}
	e.sleeper()
	if r := e.rt("exec", e.id, "uname", "-m"); r.code != 0 || r.stdout != "i686\n" {
		t.Errorf("exec uname -m under LINUX32: %s", r)
	}
	e = newEnv(t).args("uname", "-m")
	e.spec.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux}
	if r := e.run(); r.code != 0 || r.stdout != "x86_64\n" {
		t.Errorf("LINUX: %s", r)
	}
}

// TestScheduler: process.scheduler and process.ioPriority reach the
// program; an exec'd process gets the container's unless its --process
// file has its own.
func TestScheduler(t *testing.T) {
	e := newEnv(t).args("/probe", "sched")
	e.spec.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedBatch, Nice: 7,
		Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagResetOnFork}}
	e.spec.Process.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 6}
	s := decodeSched(t, e.run())
	if s.Policy != 3 || s.Nice != 7 || s.Flags&1 == 0 || s.IOPrioClass != 2 || s.IOPrioLevel != 6 {
		t.Errorf("init: %+v, want SCHED_BATCH(3) nice 7 RESET_ON_FORK, IOPRIO_CLASS_BE(2) 6", s)
	}

	e = newEnv(t)
	e.spec.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedIdle}
	e.spec.Process.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_IDLE, Priority: 0}
	e.sleeper()
	s = decodeSched(t, e.rt("exec", e.id, "/probe", "sched"))
	if s.Policy != 5 || s.IOPrioClass != 3 {
		t.Errorf("exec: %+v, want the container's SCHED_IDLE(5) and IOPRIO_CLASS_IDLE(3)", s)
	}
	// --process with its own scheduler and I/O priority (RT: needs the
	// privilege init still has before it drops capabilities).
	file := e.writeProcess(specs.Process{Args: []string{"/probe", "sched"}, Cwd: "/", Env: []string{"PATH=/bin"},
		Scheduler:  &specs.Scheduler{Policy: specs.SchedOther, Nice: -5},
		IOPriority: &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_RT, Priority: 3}})
	s = decodeSched(t, e.rt("exec", "--process", file, e.id))
	if s.Policy != 0 || s.Nice != -5 || s.IOPrioClass != 1 || s.IOPrioLevel != 3 {
		t.Errorf("exec --process: %+v, want SCHED_OTHER nice -5, IOPRIO_CLASS_RT(1) 3", s)
	}
	// A bad one in --process: a config error, and no process.
	file = e.writeProcess(specs.Process{Args: []string{"true"}, Cwd: "/",
		Scheduler: &specs.Scheduler{Policy: specs.SchedOther, Nice: 40}})
	if r := e.rt("exec", "--process", file, e.id); r.code != 125 || !strings.Contains(r.stderr, "process.scheduler: nice 40 is outside -20..19") {
		t.Errorf("exec --process with nice 40: %s", r)
	}
}

// TestSchedulerDeadline: SCHED_DEADLINE with its three times. The program
// is cat, which does not fork (a deadline task cannot: EAGAIN), so neither
// the probe (a Go program starts threads) nor sh will do.
func TestSchedulerDeadline(t *testing.T) {
	e := newEnv(t).args("cat", "/proc/self/sched")
	e.spec.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 10_000_000, Deadline: 30_000_000, Period: 30_000_000}
	r := e.run()
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	// /proc/PID/sched shows the policy, and the current (not the
	// configured) runtime and absolute deadline of a deadline task.
	fields := map[string]string{}
	for _, l := range strings.Split(r.stdout, "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok {
			fields[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	if fields["policy"] != "6" || fields["dl.runtime"] == "" {
		t.Errorf("policy %q dl.runtime %q, want SCHED_DEADLINE (6)\n%s", fields["policy"], fields["dl.runtime"], r.stdout)
	}
}

// TestSchedulerRealtime: SCHED_FIFO works where the kernel allows it; here
// (cgroup v1 with CONFIG_RT_GROUP_SCHED) a new cgroup has no real-time
// budget, and the kernel's EPERM must come back as one clear line.
func TestSchedulerRealtime(t *testing.T) {
	e := newEnv(t).args("/probe", "sched")
	e.spec.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedFIFO, Priority: 10}
	r := e.run()
	if r.code == 0 {
		if s := decodeSched(t, r); s.Policy != 1 || s.Priority != 10 {
			t.Errorf("%+v, want SCHED_FIFO(1) priority 10", s)
		}
		return
	}
	if r.code != 125 || !strings.Contains(r.stderr, "setting scheduler policy SCHED_FIFO (sched_setattr): operation not permitted") ||
		strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("refused SCHED_FIFO: %s", r)
	}
	t.Logf("SCHED_FIFO refused by this host, as expected with no real-time budget: %s", strings.TrimSpace(r.stderr))
}

// TestSchedBadValues: what the spec does not allow is a config error (exit
// 125, one line naming the field) before anything is made; newEnv's cleanup
// checks that no state dir, cgroup or mount is left.
func TestSchedBadValues(t *testing.T) {
	for _, tt := range []struct {
		name string
		set  func(s *specs.Spec)
		want string
	}{
		{"personality domain", func(s *specs.Spec) { s.Linux.Personality = &specs.LinuxPersonality{Domain: "LINUX64"} },
			`config.json: linux.personality: unknown domain "LINUX64" (want LINUX or LINUX32)`},
		{"personality flag", func(s *specs.Spec) {
			s.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux, Flags: []specs.LinuxPersonalityFlag{"ADDR_NO_RANDOMIZE"}}
		}, `config.json: linux.personality: flag "ADDR_NO_RANDOMIZE" is not supported`},
		{"policy", func(s *specs.Spec) { s.Process.Scheduler = &specs.Scheduler{Policy: "SCHED_NORMAL"} },
			`config.json: process.scheduler: unknown policy "SCHED_NORMAL"`},
		{"nice", func(s *specs.Spec) { s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedBatch, Nice: -21} },
			"config.json: process.scheduler: nice -21 is outside -20..19"},
		{"rr priority", func(s *specs.Spec) { s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedRR, Priority: 100} },
			"config.json: process.scheduler: priority 100 is outside 1..99"},
		{"deadline", func(s *specs.Spec) {
			s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 10_000_000, Deadline: 5_000_000}
		}, "config.json: process.scheduler: runtime 10000000 ns is above deadline 5000000 ns"},
		{"ioprio class", func(s *specs.Spec) { s.Process.IOPriority = &specs.LinuxIOPriority{Class: "IOPRIO_CLASS_NONE"} },
			`config.json: process.ioPriority: unknown class "IOPRIO_CLASS_NONE"`},
		{"ioprio level", func(s *specs.Spec) {
			s.Process.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 8}
		}, "config.json: process.ioPriority: priority 8 is outside 0..7"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t).args("true")
			tt.set(e.spec)
			r := e.run()
			if r.code != 125 || !strings.Contains(r.stderr, tt.want) || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("want exit 125 and %q: %s", tt.want, r)
			}
		})
	}
}
