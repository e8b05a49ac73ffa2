// Package hooks runs OCI lifecycle hooks: a program with the container's
// state JSON on its stdin, bounded by the hook's timeout.
//
// Where each kind runs (runtime-spec config.md, "POSIX-platform Hooks"):
//
//	prestart, createRuntime  by the runtime, after init made the namespaces and
//	                         mounts, before pivot_root; a failure aborts create
//	createContainer          by init, in the container's namespaces, before
//	                         pivot_root; a failure aborts create
//	startContainer           by init after start, before the program's execve;
//	                         a failure aborts (the program never runs)
//	poststart                by start, after the program runs; failures warn
//	poststop                 by delete, after the container is gone; failures warn
package hooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Run runs each hook in order and stops at the first failure. kind names
// the hooks in errors and the trace ("createRuntime").
func Run(kind string, hs []specs.Hook, state *specs.State, log *slog.Logger) error {
	if len(hs) == 0 {
		return nil
	}
	data, err := json.Marshal(state)
	if err != nil {
		return err
	}
	for i, h := range hs {
		if err := runOne(h, data, log); err != nil {
			return fmt.Errorf("running %s hook #%d (%s): %w", kind, i, h.Path, err)
		}
		log.Debug("hook", "kind", kind, "index", i, "path", h.Path)
	}
	return nil
}

// RunAll runs every hook even when some fail, for the hooks whose failures
// only warn (poststart, poststop), and logs each failure.
func RunAll(kind string, hs []specs.Hook, state *specs.State, log *slog.Logger) {
	for i := range hs {
		if err := Run(kind, hs[i:i+1], state, log); err != nil {
			log.Warn(err.Error())
		}
	}
}

func runOne(h specs.Hook, state []byte, log *slog.Logger) error {
	ctx := context.Background()
	if h.Timeout != nil {
		if *h.Timeout <= 0 {
			return fmt.Errorf("timeout %d must be positive", *h.Timeout)
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(*h.Timeout)*time.Second)
		defer cancel()
	}
	args := h.Args
	if len(args) == 0 {
		args = []string{h.Path}
	}
	cmd := exec.CommandContext(ctx, h.Path, args[1:]...)
	cmd.Args = args
	cmd.Env = h.Env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	cmd.Stdin = bytes.NewReader(state)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("timed out after %ds", *h.Timeout)
	}
	if err != nil {
		if msg := strings.TrimSpace(out.String()); msg != "" {
			return fmt.Errorf("%w: %s", err, firstLine(msg))
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee
		}
		return err
	}
	return nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
