// Package monitor is the lean half of a container's monitor: what
// cmd/nook-monitor runs while the container runs.
//
// `nook container-monitor ID` (internal/engine) mounts, networks, creates
// and starts the container, reports it ready, then execve()s
// bin/nook-monitor in place with a Config: same pid, so it stays the init's
// parent and a child subreaper (prctl(2): kept across execve), and the
// fds of the container's stdout/stderr pipes or pty master survive (no
// close-on-exec). Run waits for the init (reaping other orphans too),
// pumps the output into the json-file log (internal/jsonlog) and to an
// attached client, relays the client's terminal, and once the init has
// exited execve()s Config.Resume — the full monitor again, with
// `--exited=CODE` appended — for the after-exit work: OOM check, runtime
// delete, state, networks, --rm, the restart policy.
//
// Nothing here may import the engine, the image store or the network code:
// every package linked into nook-monitor costs each running container
// memory (cmd/nook-monitor's depcheck test).
package monitor
