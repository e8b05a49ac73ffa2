package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

type forkbombResult struct {
	Started    int    `json:"started"`
	Failed     int    `json:"failed"`
	FirstError string `json:"firstError"`
}

// forkbomb tries to start n children, holds the ones it got for hold, then
// kills and reaps them.
//
// Children are made with a raw fork and only wait to be killed, so each is
// exactly one task: pids.max counts tasks (threads), and a Go child would be
// several. For the same reason the parent makes no call between forks that
// could need a new OS thread (a Go program that cannot start one crashes):
// garbage collection is off and the pid list is allocated up front.
func forkbomb(n int, hold time.Duration) forkbombResult {
	var res forkbombResult
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	pids := make([]int, 0, n)
	for range n {
		pid, errno := forkPause()
		if errno != 0 {
			res.Failed++
			if res.FirstError == "" {
				res.FirstError = "fork: " + errno.Error()
			}
			continue
		}
		pids = append(pids, pid)
	}
	res.Started = len(pids)
	time.Sleep(hold)
	for _, pid := range pids {
		unix.Kill(pid, unix.SIGKILL)
	}
	for _, pid := range pids {
		var ws unix.WaitStatus
		for {
			_, err := unix.Wait4(pid, &ws, 0, nil)
			if err != unix.EINTR {
				break
			}
		}
	}
	return res
}

// forkPause forks. The child is a single-threaded copy of this Go program
// whose runtime state is not safe to use, so it touches none of it (no
// allocation, no scheduler, no stack growth): it blocks in ppoll(2) on no
// descriptors until it is killed.
//
//go:norace
//go:nosplit
func forkPause() (pid int, errno syscall.Errno) {
	// clone(SIGCHLD) is fork(2); arm64 has no fork system call.
	r, _, e := syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	if r == 0 {
		for {
			syscall.RawSyscall6(syscall.SYS_PPOLL, 0, 0, 0, 0, 0, 0)
		}
	}
	return int(r), 0
}

type memhogResult struct {
	AllocatedMiB int `json:"allocatedMiB"`
}

// memhog allocates mib MiB, writing to every page so that the memory is
// really charged, and keeps all of it until the end.
func memhog(mib int) memhogResult {
	page := os.Getpagesize()
	held := make([][]byte, 0, mib)
	for i := 1; i <= mib; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += page {
			b[j] = 1
		}
		held = append(held, b)
		fmt.Fprintf(os.Stderr, "memhog: %d MiB\n", i)
	}
	runtime.KeepAlive(held)
	return memhogResult{AllocatedMiB: len(held)}
}

type spinResult struct {
	Spun float64 `json:"spun"`
	// CPUSeconds is the user+system CPU time the probe used, so that a CPU
	// quota shows as CPUSeconds well below Spun.
	CPUSeconds float64 `json:"cpuSeconds"`
}

// spin busy-loops on one thread for d.
func spin(d time.Duration) spinResult {
	start := time.Now()
	for time.Since(start) < d {
	}
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return spinResult{Spun: d.Seconds(), CPUSeconds: cpu.Seconds()}
}
