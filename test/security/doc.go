// Package security holds escape-and-abuse tests for nook-runtime: each test
// is an attack from inside a container with the configuration users get by
// default (the spec `nook-runtime spec` writes: runc's three capabilities,
// no_new_privs, Docker's seccomp profile, masked and read-only paths, a
// deny-all device cgroup), and again, where capabilities matter, with
// Docker's fourteen default capabilities and the matching seccomp profile.
// Every attack must fail, and every test then looks at the host to check
// that nothing really changed.
//
// The tests need root and the built binaries (NOOK_RUNTIME, NOOK_PROBE);
// without them they skip. `make test-security` runs them.
package security
