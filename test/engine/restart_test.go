package engine

import (
	"fmt"
	"testing"
	"time"
)

// TestRestartOnFailure: on-failure:2 restarts a failing process twice,
// then leaves it exited.
func TestRestartOnFailure(t *testing.T) {
	e := newEngine(t)
	e.runD("--name", "flaky", "--restart", "on-failure:2", builtin, "sh", "-c", "exit 1")
	var c container
	waitFor(t, "two restarts and exited", func() (bool, string) {
		c = e.inspect("flaky")
		return c.State.Status == "exited" && c.RestartCount >= 2, fmt.Sprintf("%s, %d restarts", c.State.Status, c.RestartCount)
	})
	if c.RestartCount != 2 || c.State.ExitCode != 1 {
		t.Errorf("RestartCount %d, ExitCode %d; want 2 and 1", c.RestartCount, c.State.ExitCode)
	}
	if c.HostConfig.RestartPolicy.Name != "on-failure" || c.HostConfig.RestartPolicy.MaximumRetryCount != 2 {
		t.Errorf("RestartPolicy %+v", c.HostConfig.RestartPolicy)
	}

	// A process that succeeds is not restarted.
	e.runD("--name", "fine", "--restart", "on-failure:2", builtin, "true")
	if got := e.must("wait", "fine"); got != "0" {
		t.Errorf("wait: %q", got)
	}
	if c := e.inspect("fine"); c.RestartCount != 0 {
		t.Errorf("on-failure restarted a process that exited 0: %d restarts", c.RestartCount)
	}
}

// TestRestartAlways: always restarts a process that exits, until stop.
func TestRestartAlways(t *testing.T) {
	e := newEngine(t)
	e.runD("--name", "phoenix", "--restart", "always", builtin, "sh", "-c", "sleep 0.1")
	waitFor(t, "two restarts", func() (bool, string) {
		c := e.inspect("phoenix")
		return c.RestartCount >= 2, fmt.Sprintf("%s, %d restarts", c.State.Status, c.RestartCount)
	})
	e.must("stop", "-t", "1", "phoenix")
	c := e.inspect("phoenix")
	if c.State.Status != "exited" {
		t.Fatalf("after stop: %s", c.State.Status)
	}
	// Stopped by the user: no more restarts. The backoff between restarts
	// is well under a second at this count.
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if now := e.inspect("phoenix"); now.State.Status != "exited" || now.RestartCount != c.RestartCount {
			t.Fatalf("restarted after stop: %s, %d restarts (was %d)", now.State.Status, now.RestartCount, c.RestartCount)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
