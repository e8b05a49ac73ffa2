// Package engine holds root-requiring end-to-end tests of the nook engine
// CLI (bin/nook): images pulled from a real registry on loopback
// (test/registry), containers run, stopped, restarted, logged, mounted,
// limited and removed the way Docker's users do it.
//
// Run them with `make test-engine`, or by hand:
//
//	NOOK=$PWD/bin/nook NOOK_PROBE=$PWD/bin/probe go test -count=1 -v ./test/engine/
//
// Every test has its own --root in a temp dir and removes its containers,
// and checks that no mount, process or cgroup of theirs is left. Without
// root or NOOK every test skips.
package engine
