package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
)

// runtimeBuildID is the Go build ID of the nook-runtime built with this nook
// (make build sets it with -X). Containers' inits then run from that
// nook-runtime when it sits next to nook: the same init code (the
// runtime core's initproc) in a binary half the size, which starts ~2 ms
// sooner, on the path of every container start.
var runtimeBuildID string

// initBinary is nook-runtime next to this binary if it is exactly the build
// runtimeBuildID names, else "" (inits run from nook itself). The Go build
// ID is an ELF note in the first page of the file (.note.go.buildid): one
// read tells a binary of another build, which could speak another version
// of the runtime's protocol with its init, from the right one.
func initBinary() string {
	self, err := os.Executable()
	if err != nil {
		return ""
	}
	return initBinaryIn(filepath.Dir(self), runtimeBuildID)
}

// initBinaryIn is initBinary for the nook-runtime in dir and the build ID id.
func initBinaryIn(dir, id string) string {
	if id == "" {
		return ""
	}
	path := filepath.Join(dir, "nook-runtime")
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	head := make([]byte, 4096)
	n, _ := io.ReadFull(f, head)
	if !bytes.Contains(head[:n], []byte(id)) {
		return ""
	}
	return path
}
