package engine

import (
	"strings"
	"sync"
	"testing"
)

// TestNameUnique: a second container with a taken name is refused with a
// clear error and leaves nothing behind.
func TestNameUnique(t *testing.T) {
	e := newEngine(t)
	e.runD("--name", "uniq", builtin, "sleep", "1000")
	wantError(t, e.nook("run", "-d", "--name", "uniq", builtin, "sleep", "1000"), "uniq")
	wantError(t, e.nook("create", "--name", "uniq", builtin, "true"), "uniq")
	if ids := strings.Fields(e.must("ps", "-aq")); len(ids) != 1 {
		t.Errorf("ps -aq after the refused runs: %v, want one container", ids)
	}
	// The name is free again once its container is removed.
	e.must("rm", "-f", "uniq")
	e.must("create", "--name", "uniq", builtin, "true")
}

// TestNameRace: of several concurrent run --name with the same name,
// exactly one wins and the others fail cleanly.
func TestNameRace(t *testing.T) {
	e := newEngine(t)
	e.must("run", "--rm", builtin, "true") // make the image before the race
	const n = 6
	results := make([]result, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = e.exec(nil, "run", "-d", "--name", "race", builtin, "sleep", "1000")
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	won := 0
	for _, r := range results {
		switch r.Code {
		case 0:
			won++
		case 125:
		default:
			t.Errorf("a losing run: want exit 125, got %s", r)
		}
	}
	if won != 1 {
		t.Errorf("%d of %d runs won the name, want exactly 1:\n%v", won, n, results)
	}
	ids := strings.Fields(e.must("ps", "-aq"))
	if len(ids) != 1 {
		t.Errorf("ps -aq after the race: %v, want one container", ids)
	}
	if st := e.status("race"); st != "running" {
		t.Errorf("the winner is %s", st)
	}
}
