package initproc

import (
	"errors"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// This file translates process.scheduler, process.ioPriority and
// linux.personality into the numbers sched_setattr(2), ioprio_set(2) and
// personality(2) take, and checks them on the way. The runtime's Validate
// calls the Check functions before it creates anything; init (and exec's
// init) apply the result in sched_linux.go.

// schedPolicies are sched_setattr(2)'s policy numbers (linux/sched.h).
// SCHED_ISO (4) is reserved there and unknown to mainline Linux, which
// answers EINVAL; it is passed on for kernels patched to have it.
var schedPolicies = map[specs.LinuxSchedulerPolicy]uint32{
	specs.SchedOther: 0, specs.SchedFIFO: 1, specs.SchedRR: 2, specs.SchedBatch: 3,
	specs.SchedISO: 4, specs.SchedIdle: 5, specs.SchedDeadline: 6,
}

// schedFlags are struct sched_attr's sched_flags bits (linux/sched.h).
var schedFlags = map[specs.LinuxSchedulerFlag]uint64{
	specs.SchedFlagResetOnFork: 0x01, specs.SchedFlagReclaim: 0x02, specs.SchedFlagDLOverrun: 0x04,
	specs.SchedFlagKeepPolicy: 0x08, specs.SchedFlagKeepParams: 0x10,
	specs.SchedFlagUtilClampMin: 0x20, specs.SchedFlagUtilClampMax: 0x40,
}

// schedAttr is the part of struct sched_attr a spec can set.
type schedAttr struct {
	policy   uint32
	flags    uint64
	nice     int32
	priority uint32
	runtime  uint64
	deadline uint64
	period   uint64
}

// dlMinRuntime is the smallest SCHED_DEADLINE runtime the kernel takes,
// 1 << DL_SCALE ns (kernel/sched/deadline.c, __checkparam_dl).
const dlMinRuntime = 1 << 10

// schedulerAttr checks a process.scheduler and translates it. The rules are
// sched_setattr(2)'s, so that a mistake is a config error, not an EINVAL
// from inside the container's init:
//   - nice -20..19;
//   - priority 1..99 with SCHED_FIFO and SCHED_RR, 0 (unset) otherwise;
//   - runtime, deadline and period only with SCHED_DEADLINE, and there
//     1024 ns <= runtime <= deadline <= period (period 0 means deadline).
func schedulerAttr(s *specs.Scheduler) (schedAttr, error) {
	var a schedAttr
	if s.Policy == "" {
		return a, errors.New("policy is required")
	}
	policy, ok := schedPolicies[s.Policy]
	if !ok {
		return a, fmt.Errorf("unknown policy %q (want SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_ISO, SCHED_IDLE or SCHED_DEADLINE)", s.Policy)
	}
	a = schedAttr{policy: policy, nice: s.Nice, runtime: s.Runtime, deadline: s.Deadline, period: s.Period}
	if s.Nice < -20 || s.Nice > 19 {
		return a, fmt.Errorf("nice %d is outside -20..19", s.Nice)
	}
	realtime := s.Policy == specs.SchedFIFO || s.Policy == specs.SchedRR
	switch {
	case realtime && (s.Priority < 1 || s.Priority > 99):
		return a, fmt.Errorf("priority %d is outside 1..99 (required with %s)", s.Priority, s.Policy)
	case !realtime && s.Priority != 0:
		return a, fmt.Errorf("priority %d is only valid with SCHED_FIFO and SCHED_RR, not %s", s.Priority, s.Policy)
	}
	a.priority = uint32(s.Priority)
	if s.Policy != specs.SchedDeadline {
		if s.Runtime != 0 || s.Deadline != 0 || s.Period != 0 {
			return a, fmt.Errorf("runtime, deadline and period are only valid with SCHED_DEADLINE, not %s", s.Policy)
		}
	} else if err := checkDeadline(s.Runtime, s.Deadline, s.Period); err != nil {
		return a, err
	}
	for _, f := range s.Flags {
		bit, ok := schedFlags[f]
		if !ok {
			return a, fmt.Errorf("unknown flag %q", f)
		}
		a.flags |= bit
	}
	return a, nil
}

func checkDeadline(runtime, deadline, period uint64) error {
	const msb = 1 << 63 // the kernel keeps these in signed arithmetic
	switch {
	case deadline == 0:
		return errors.New("deadline is required with SCHED_DEADLINE")
	case runtime < dlMinRuntime:
		return fmt.Errorf("runtime %d ns is below the kernel's minimum of %d ns", runtime, dlMinRuntime)
	case deadline&msb != 0 || period&msb != 0:
		return errors.New("deadline and period must be below 2^63 ns")
	case runtime > deadline:
		return fmt.Errorf("runtime %d ns is above deadline %d ns", runtime, deadline)
	case period != 0 && period < deadline:
		return fmt.Errorf("period %d ns is below deadline %d ns", period, deadline)
	}
	return nil
}

// ioprioClasses are ioprio_set(2)'s classes (linux/ioprio.h).
var ioprioClasses = map[specs.IOPriorityClass]int{
	specs.IOPRIO_CLASS_RT: 1, specs.IOPRIO_CLASS_BE: 2, specs.IOPRIO_CLASS_IDLE: 3,
}

// ioprioClassShift: an I/O priority is class << 13 | level.
const ioprioClassShift = 13

// ioPriority checks a process.ioPriority and returns ioprio_set(2)'s value.
func ioPriority(p *specs.LinuxIOPriority) (int, error) {
	class, ok := ioprioClasses[p.Class]
	if !ok {
		return 0, fmt.Errorf("unknown class %q (want IOPRIO_CLASS_RT, IOPRIO_CLASS_BE or IOPRIO_CLASS_IDLE)", p.Class)
	}
	if p.Priority < 0 || p.Priority > 7 {
		return 0, fmt.Errorf("priority %d is outside 0..7", p.Priority)
	}
	return class<<ioprioClassShift | p.Priority, nil
}

// personalities are personality(2)'s execution domains (linux/personality.h).
var personalities = map[specs.LinuxPersonalityDomain]uint{
	specs.PerLinux: 0x0000, specs.PerLinux32: 0x0008,
}

// personality checks a linux.personality and returns personality(2)'s
// value. The spec defines no flags yet ("currently no flag values are
// supported"); the kernel's (ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC, ...)
// mostly weaken the container, so any flag is refused rather than ignored.
func personality(p *specs.LinuxPersonality) (uint, error) {
	v, ok := personalities[p.Domain]
	if !ok {
		return 0, fmt.Errorf("unknown domain %q (want LINUX or LINUX32)", p.Domain)
	}
	if len(p.Flags) > 0 {
		return 0, fmt.Errorf("flag %q is not supported (the runtime spec defines no personality flags)", p.Flags[0])
	}
	return v, nil
}

// CheckScheduler checks a process.scheduler the way init will apply it.
func CheckScheduler(s *specs.Scheduler) error {
	_, err := schedulerAttr(s)
	return err
}

// CheckIOPriority checks a process.ioPriority.
func CheckIOPriority(p *specs.LinuxIOPriority) error {
	_, err := ioPriority(p)
	return err
}

// CheckPersonality checks a linux.personality.
func CheckPersonality(p *specs.LinuxPersonality) error {
	_, err := personality(p)
	return err
}
