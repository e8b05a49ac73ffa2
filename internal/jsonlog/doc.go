// Package jsonlog writes a container's output as Docker's json-file log:
// one JSON object per line ({"log","stream","time"}), rotated by size into
// PATH.1 .. PATH.(max-file - 1). The engine reads it back (`nook logs`);
// both monitors write it: `nook container-monitor` while it starts the
// container, the lean cmd/nook-monitor while it runs.
//
// It must stay small: cmd/nook-monitor imports it, and every package it
// pulls in costs each running container memory (a test in cmd/nook-monitor
// checks the dependency list). Standard library only.
package jsonlog
