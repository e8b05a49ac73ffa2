//go:build !cgo || !linux

package nsenter

// Supported reports whether the constructor is linked in (built with cgo).
const Supported = false
