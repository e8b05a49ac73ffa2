package security

import (
	"crypto/sha256"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hostRate is how much a host-side workload got done per second.
type hostRate struct {
	work  float64 // CPU work units (sha256 of 64 KiB) per second, one goroutine
	spawn float64 // fork+exec+wait of /bin/true per second, one goroutine
}

// measureHost runs two host-side loops side by side for d, outside any
// container cgroup: one goroutine hashing a fixed 64 KiB buffer (pure CPU,
// the scheduler's share for a host process), and one starting /bin/true
// and waiting for it (fork, exec, page faults, pid allocation, exit: the
// kernel paths a fork bomb or a memory hog fights over). It returns their
// rates.
func measureHost(d time.Duration) hostRate {
	var work, spawn atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		buf := make([]byte, 64<<10)
		for !stop.Load() {
			sum := sha256.Sum256(buf)
			buf[0] = sum[0]
			work.Add(1)
		}
	}()
	go func() {
		defer wg.Done()
		for !stop.Load() {
			if exec.Command("/bin/true").Run() == nil {
				spawn.Add(1)
			}
		}
	}()
	start := time.Now()
	time.Sleep(d)
	stop.Store(true)
	el := time.Since(start).Seconds()
	wg.Wait()
	return hostRate{work: float64(work.Load()) / el, spawn: float64(spawn.Load()) / el}
}

// The least share of its baseline rate a host loop must keep while a
// container attacks. Loose on purpose; measured on this 2-core host the
// rates stay at 40-100% of baseline. The measuring loops need about 2 cores
// themselves, so they are the side that competes:
//
//   - bandCapped: the attack has a CPU quota (the CPU burner: 0.2 core),
//     which leaves 1.8 cores to the host; 40% allows for a 1-2 s window's
//     noise on a shared VM and the runtime's own processes.
//   - bandUncapped: the attack has no CPU limit (the fork bombs, the memory
//     hogs, which spend CPU on page zeroing, reclaim and OOM kills). It is
//     one more group in the CPU scheduler's fair share (cpu.shares 1024 /
//     cpu.weight 100, at the same level as the host's tasks), so losing up
//     to about half the machine is the scheduler working as designed (the
//     memory hogs were measured at 40-50% of the baseline spawn rate), not
//     a denial of service; 25% leaves room for noise below that.
//
// A real denial of service (a fork bomb filling the host's pid space, a
// memory hog pushing the host into swap or its OOM killer) drives a rate to
// near zero, far below either band.
const (
	bandCapped   = 0.40
	bandUncapped = 0.25
)

// checkHost compares a rate measured during an attack with its baseline.
func checkHost(t *testing.T, attack string, band float64, base, during hostRate) {
	t.Helper()
	t.Logf("host during %s: cpu %.0f units/s (baseline %.0f, %.0f%%), spawn %.0f /bin/true/s (baseline %.0f, %.0f%%); band %.0f%%",
		attack, during.work, base.work, 100*during.work/base.work,
		during.spawn, base.spawn, 100*during.spawn/base.spawn, 100*band)
	if during.work < band*base.work {
		t.Errorf("HOLE: during %s a host CPU loop ran at %.0f%% of its baseline (band %.0f%%)",
			attack, 100*during.work/base.work, 100*band)
	}
	if during.spawn < band*base.spawn {
		t.Errorf("HOLE: during %s the host started /bin/true at %.0f%% of its baseline rate (band %.0f%%)",
			attack, 100*during.spawn/base.spawn, 100*band)
	}
}
