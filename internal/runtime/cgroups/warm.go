package cgroups

import (
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// WarmAttach gets the kernel ready, in the background, for a cgroup.procs
// write the caller is about to make, and returns the function to call once
// that write is done.
//
// Every move of a process between cgroups (any hierarchy, v1 or v2) takes
// cgroup_threadgroup_rwsem for writing, a per-CPU rwsem whose fork-side
// fast path is switched off by rcu_sync_enter: the first writer after a
// quiet spell waits a whole RCU grace period (10-20 ms on an idle machine),
// and later ones pass at once for as long as writers keep coming within a
// grace period of each other (kernel/rcu/sync.c). On cgroup v1, and on v2
// whenever init cannot be cloned straight into its cgroup, that wait is the
// longest step of a container's start. Moving this process into the cgroup
// it is already in (a no-op, allowed wherever this process runs) pays the
// grace period here, while the caller goes on building the container, and
// doing it again every millisecond until stop keeps the fast path off for
// the real write (each repeat holds the rwsem for microseconds).
//
// Errors are only logged: a warm-up that fails costs the later write
// nothing it would not have paid anyway.
func WarmAttach(log *slog.Logger) (stop func()) {
	procs := ownProcsFile(DefaultRoot, DetectMode())
	if procs == "" {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		f, err := os.OpenFile(procs, os.O_WRONLY, 0)
		if err != nil {
			log.Debug("cgroup attach warm-up", "error", err)
			return
		}
		defer f.Close()
		pid := []byte(strconv.Itoa(os.Getpid()))
		t0 := time.Now()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for n := 0; n < warmLimit; n++ {
			if _, err := f.Write(pid); err != nil {
				log.Debug("cgroup attach warm-up", "file", procs, "error", err)
				return
			}
			if n == 0 {
				log.Debug("cgroup attach warm-up", "file", procs, "first write took", time.Since(t0))
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return sync.OnceFunc(func() { close(done) })
}

// warmLimit bounds the warm-up writes (a caller that never calls stop).
const warmLimit = 500

// ownProcsFile is the cgroup.procs of this process's own cgroup in one
// hierarchy: the v2 one where there is one, else the first mounted v1
// hierarchy ("" if /proc/self/cgroup cannot be read).
func ownProcsFile(root string, mode Mode) string {
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return ""
	}
	own, err := parseProcCgroup(string(data))
	if err != nil {
		return ""
	}
	switch mode {
	case Unified:
		if p, ok := own[""]; ok {
			return filepath.Join(root, p, "cgroup.procs")
		}
	case Hybrid:
		if p, ok := own[""]; ok {
			return filepath.Join(root, "unified", p, "cgroup.procs")
		}
	}
	for _, h := range v1Hierarchies {
		if p, ok := own[h.key]; ok && exists(filepath.Join(root, h.dir)) {
			return filepath.Join(root, h.dir, p, "cgroup.procs")
		}
	}
	return ""
}
