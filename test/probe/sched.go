package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// schedReport is what "probe sched" prints: the process's scheduling
// attributes (sched_getattr(2)), I/O priority (ioprio_get(2)), execution
// domain (personality(2)) and uname's machine, so that tests can check
// process.scheduler, process.ioPriority and linux.personality.
type schedReport struct {
	Policy   uint32 `json:"policy"`
	Flags    uint64 `json:"flags"`
	Nice     int32  `json:"nice"`
	Priority uint32 `json:"priority"`
	Runtime  uint64 `json:"runtime"`
	Deadline uint64 `json:"deadline"`
	Period   uint64 `json:"period"`
	// IOPrioClass and IOPrioLevel split ioprio_get's value (class << 13 |
	// level); class 0 is "none" (derived from the nice value).
	IOPrioClass int `json:"ioprioClass"`
	IOPrioLevel int `json:"ioprioLevel"`
	// Personality is personality(0xffffffff): PER_LINUX is 0, PER_LINUX32 8.
	Personality uint     `json:"personality"`
	Machine     string   `json:"machine"`
	Errors      []string `json:"errors,omitempty"`
}

// schedInfo reads the attributes of the process's main thread (the one
// execve started; Go's other threads inherit from it or from each other):
// sched_getattr and ioprio_get with our pid name the thread group leader.
func schedInfo() schedReport {
	var r schedReport
	pid := os.Getpid()
	if a, err := unix.SchedGetAttr(pid, 0); err != nil {
		r.Errors = append(r.Errors, "sched_getattr: "+err.Error())
	} else {
		r.Policy, r.Flags, r.Nice, r.Priority = a.Policy, a.Flags, a.Nice, a.Priority
		r.Runtime, r.Deadline, r.Period = a.Runtime, a.Deadline, a.Period
	}
	const ioprioWhoProcess = 1
	if v, _, e := unix.Syscall(unix.SYS_IOPRIO_GET, ioprioWhoProcess, uintptr(pid), 0); e != 0 {
		r.Errors = append(r.Errors, "ioprio_get: "+e.Error())
	} else {
		r.IOPrioClass, r.IOPrioLevel = int(v>>13), int(v&0x1fff)
	}
	p, _, e := unix.Syscall(unix.SYS_PERSONALITY, 0xffffffff, 0, 0)
	if e != 0 {
		r.Errors = append(r.Errors, "personality: "+e.Error())
	}
	r.Personality = uint(p)
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		r.Errors = append(r.Errors, "uname: "+err.Error())
	}
	r.Machine = unix.ByteSliceToString(u.Machine[:])
	return r
}
