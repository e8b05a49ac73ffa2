// Package network holds root-requiring end-to-end tests of nook's container
// networking, driven through the engine CLI (bin/nook): published ports,
// user-defined and internal networks with their DNS, isolation between
// networks, masquerade to an outside host, many containers started at once,
// and the cleanup after a monitor is killed. docs/networking.md describes
// what they test.
//
// Run them as root with the built binaries:
//
//	make build
//	NOOK=$PWD/bin/nook NOOK_PROBE=$PWD/bin/probe go test -count=1 -v ./test/network/
//
// Without root, NOOK or NOOK_PROBE every test skips.
//
// # Isolation from the machine
//
// Every test runs nook inside a network namespace of its own (the test's
// "host", entered with nsenter(1) for each nook command, so the mount
// namespace stays the machine's) with its own engine root and network state
// (NOOK_NETWORK_ROOT). Its bridges, veths, routes, sysctls and nftables
// table are that namespace's: tests can run beside another nook (or each
// other) on the same machine without sharing a bridge, an address or a
// rule, and nothing they send can leave through the machine's default
// route: the test's host has no default route at all. That also makes the
// DNS servers' forwarding of unknown names to the machine's resolvers fail
// at once instead of leaving the machine. "The outside" is one more
// namespace, joined to the test's host by a veth pair.
//
// Each test removes its containers (nook rm -f) and networks (nook network
// rm), then checks that nothing is left (processes of its root, mounts,
// veths, port rules) before it deletes its namespaces.
package network
