package initproc

import (
	"errors"
	"fmt"
	"log/slog"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// setProcessScheduling applies linux.personality, process.scheduler and
// process.ioPriority (translated in sched.go).
//
// All three belong to the calling thread, not the process: sched_setattr(2)
// and ioprio_set(2) with pid 0 change the caller's task, and so does
// personality(2). That is the locked thread that later execve()s, and
// execve keeps them, so the program starts with them. Go's other threads
// keep the defaults; the runtime starts new threads from its template
// thread when the caller is locked, so none inherits SCHED_DEADLINE (which
// would make clone fail with EAGAIN).
//
// Preconditions: before the capabilities are dropped. SCHED_FIFO, SCHED_RR,
// SCHED_DEADLINE, a nice below the current one and IOPRIO_CLASS_RT need
// CAP_SYS_NICE (or CAP_SYS_ADMIN for the I/O class) in the initial user
// namespace.
func setProcessScheduling(p *specs.Process, pers *specs.LinuxPersonality, log *slog.Logger) error {
	if pers != nil {
		v, err := personality(pers)
		if err != nil {
			return fmt.Errorf("linux.personality: %w", err)
		}
		if _, _, e := unix.RawSyscall(unix.SYS_PERSONALITY, uintptr(v), 0, 0); e != 0 {
			return fmt.Errorf("setting personality %s: %w", pers.Domain, e)
		}
		log.Debug("personality", "domain", pers.Domain, "value", fmt.Sprintf("%#x", v))
	}
	if s := p.Scheduler; s != nil {
		a, err := schedulerAttr(s)
		if err != nil {
			return fmt.Errorf("process.scheduler: %w", err)
		}
		attr := unix.SchedAttr{Policy: a.policy, Flags: a.flags, Nice: a.nice, Priority: a.priority,
			Runtime: a.runtime, Deadline: a.deadline, Period: a.period}
		if err := unix.SchedSetAttr(0, &attr, 0); err != nil {
			if errors.Is(err, unix.EINVAL) && s.Policy == specs.SchedISO {
				return errors.New("setting scheduler policy SCHED_ISO: this kernel does not have it")
			}
			return fmt.Errorf("setting scheduler policy %s (sched_setattr): %w", s.Policy, err)
		}
		log.Debug("sched_setattr", "policy", s.Policy, "nice", a.nice, "priority", a.priority,
			"flags", fmt.Sprintf("%#x", a.flags), "runtime", a.runtime, "deadline", a.deadline, "period", a.period)
	}
	if io := p.IOPriority; io != nil {
		v, err := ioPriority(io)
		if err != nil {
			return fmt.Errorf("process.ioPriority: %w", err)
		}
		const ioprioWhoProcess = 1
		if _, _, e := unix.RawSyscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, 0, uintptr(v)); e != 0 {
			return fmt.Errorf("setting I/O priority %s/%d (ioprio_set): %w", io.Class, io.Priority, e)
		}
		log.Debug("ioprio_set", "class", io.Class, "priority", io.Priority)
	}
	return nil
}
