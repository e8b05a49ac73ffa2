// Command probe runs inside a container and reports what it sees, so that
// integration tests can check the runtime did what the spec asked. It is a
// static binary (CGO_ENABLED=0) copied into test root filesystems at /probe:
//
//	CGO_ENABLED=0 go build -o bin/probe ./test/probe
//
// With no arguments (or "report") it prints one JSON report.Report. The other
// commands exercise limits (forkbomb, memhog, spin) or stand in for the
// shell tools a test needs (sleep, exit, cat, write, ls; dial, serve,
// resolve and lookup for network tests); run "probe help".
//
// Collection never fails as a whole: what cannot be read is left empty and
// named in the report's Errors.
package main
