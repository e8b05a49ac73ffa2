// Package nooktest runs the nook binary for the root-requiring test suites
// (test/engine, test/network): one command, its output and exit code, with
// a time limit.
package nooktest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Result is a finished nook command.
type Result struct {
	Args           []string
	Stdout, Stderr string
	Code           int
}

func (r Result) String() string {
	return fmt.Sprintf("nook %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(r.Args, " "), r.Code, r.Stdout, r.Stderr)
}

// Out is stdout without the trailing newline.
func (r Result) Out() string { return strings.TrimRight(r.Stdout, "\n") }

// Run runs cmd, whose Stdin the caller may set, and waits for it up to
// limit (then kills it: it is our own child). args are what the Result
// reports. Output goes to files in dir, not pipes: a detached container's
// monitor may keep an inherited stdout open, and Wait would wait for it.
func Run(cmd *exec.Cmd, args []string, dir string, limit time.Duration) (Result, error) {
	outf, err := os.CreateTemp(dir, "stdout")
	if err != nil {
		return Result{}, err
	}
	defer os.Remove(outf.Name())
	defer outf.Close()
	errf, err := os.CreateTemp(dir, "stderr")
	if err != nil {
		return Result{}, err
	}
	defer os.Remove(errf.Name())
	defer errf.Close()
	cmd.Stdout, cmd.Stderr = outf, errf
	if err := cmd.Start(); err != nil {
		return Result{}, err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(limit):
		cmd.Process.Kill()
		<-done
		stderr, _ := os.ReadFile(errf.Name())
		return Result{}, fmt.Errorf("nook %s: no exit after %v; stderr: %s", strings.Join(args, " "), limit, stderr)
	}
	stdout, _ := os.ReadFile(outf.Name())
	stderr, _ := os.ReadFile(errf.Name())
	return Result{Args: args, Stdout: string(stdout), Stderr: string(stderr), Code: cmd.ProcessState.ExitCode()}, nil
}
