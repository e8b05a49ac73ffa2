// Package report defines what test/probe prints: a Report of what a process
// sees from inside a container, as JSON. Integration tests run the probe in a
// container, unmarshal its stdout into a Report and check it against the
// spec they gave the runtime.
package report
