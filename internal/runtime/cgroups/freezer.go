package cgroups

import (
	"fmt"
	"log/slog"
	"time"
)

// freezeTimeout (a variable for tests) bounds how long Freeze waits for every task to stop. Tasks
// in uninterruptible sleep (D state, e.g. on NFS) hold a freeze up.
var freezeTimeout = 5 * time.Second

// freezeV1 uses the v1 freezer (cgroup-v1/freezer-subsystem.rst). Writing
// FROZEN starts freezing; freezer.state reads FREEZING until every task
// has stopped. The write is repeated while waiting: a task forked during
// the freeze can be missed, and writing FROZEN again picks it up (runc does
// the same), with a thaw every 50 tries for tasks stuck where they can't be
// frozen. If the freeze does not complete, the cgroup is thawed again rather
// than left half frozen.
func freezeV1(log *slog.Logger, dir string, frozen bool) error {
	want := "THAWED"
	if frozen {
		want = "FROZEN"
	}
	tries := 0
	err := poll(func() (bool, error) {
		tries++
		if frozen && tries%50 == 0 {
			// A task that can't be frozen where it stands (in the
			// middle of a vfork, say) keeps the cgroup FREEZING for
			// good: thaw now and then to let it move on, as runc does.
			if err := writeFile(log, dir, "freezer.state", "THAWED"); err != nil {
				return false, err
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err := writeFile(log, dir, "freezer.state", want); err != nil {
			return false, err
		}
		got, err := readFile(dir, "freezer.state")
		return got == want, err
	})
	if err != nil && frozen {
		if terr := writeFile(log, dir, "freezer.state", "THAWED"); terr != nil {
			log.Debug("thawing after failed freeze", "dir", dir, "err", terr)
		}
	}
	if err != nil {
		return fmt.Errorf("setting %s/freezer.state to %s: %w", dir, want, err)
	}
	return nil
}

// freezeV2 uses cgroup.freeze (cgroup-v2.rst "Core Interface Files"): the
// write returns at once and "frozen 1" appears in cgroup.events once every
// task is stopped.
func freezeV2(log *slog.Logger, dir string, frozen bool) error {
	want, v := uint64(0), "0"
	if frozen {
		want, v = 1, "1"
	}
	if err := writeFile(log, dir, "cgroup.freeze", v); err != nil {
		return err
	}
	err := poll(func() (bool, error) {
		got, err := readKeyed(dir, "cgroup.events", "frozen")
		return got == want, err
	})
	if err != nil && frozen {
		if terr := writeFile(log, dir, "cgroup.freeze", "0"); terr != nil {
			log.Debug("thawing after failed freeze", "dir", dir, "err", terr)
		}
	}
	if err != nil {
		return fmt.Errorf("setting %s/cgroup.freeze to %s: %w", dir, v, err)
	}
	return nil
}

// poll calls done with a growing pause until it reports true, fails, or
// freezeTimeout passes.
func poll(done func() (bool, error)) error {
	delay := 100 * time.Microsecond
	deadline := time.Now().Add(freezeTimeout)
	for {
		ok, err := done()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not done after %v", freezeTimeout)
		}
		time.Sleep(delay)
		delay = min(2*delay, 10*time.Millisecond)
	}
}
