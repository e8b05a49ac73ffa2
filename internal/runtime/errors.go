package runtime

import (
	"errors"
	"fmt"
)

// Sentinel errors callers branch on. Their texts are the literal phrases
// containerd's runc shim matches in a runtime's error output.
var (
	ErrNotFound   = errors.New("does not exist")
	ErrExists     = errors.New("already exists")
	ErrNotRunning = errors.New("container not running")
	ErrRunning    = errors.New("container is running")
)

// ExitError is an error that carries the process exit status the CLI should
// use: 127 when the container's program is not found, 126 when it cannot be
// executed, 125 for nook's own errors.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode returns the status the CLI should exit with for err.
func ExitCode(err error) int {
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return 125
}

func notFound(id string) error {
	return fmt.Errorf("container %q %w", id, ErrNotFound)
}
