// Package engine is nook's daemonless container engine: what `nook run`
// does between an image and a running process.
//
// The flow of one container:
//
//	image (internal/image) → rootfs (internal/image/rootfs: overlay of the
//	layers + a private upper dir) → spec (spec.go: the image's config and
//	Docker's run flags as an OCI config.json) → monitor (monitor.go: nook
//	re-executed in its own session, one per container; lean.go: handed to
//	the small bin/nook-monitor while the container runs) → runtime
//	(internal/runtime in process, or any OCI runtime binary with --runtime)
//	→ the container's process.
//
// There is no daemon. Every container's record lives on disk under the
// root (default /var/lib/nook):
//
//	containers/ID/container.json  what was asked: image, Docker's Config and HostConfig
//	containers/ID/state.json      what happened: status, pids, exit code, restarts
//	containers/ID/bundle/         the OCI bundle: config.json, rootfs (the overlay mount)
//	containers/ID/upper, work     the container's writable layer
//	containers/ID/ID-json.log     the output, as Docker's json-file log lines
//	containers/ID/hosts, hostname, resolv.conf  bind-mounted into the container
//	volumes/NAME/_data            named volumes
//	runtime/                      the OCI runtime's own state
//
// The monitor holds the container's stdio and is the only writer of its
// state while it runs; commands such as ps and inspect read the files and
// check the recorded processes against the kernel, so a monitor killed with
// SIGKILL shows as such and rm still cleans up. A flock on the root's
// engine.lock serialises what must not race: name allocation and removal.
package engine
