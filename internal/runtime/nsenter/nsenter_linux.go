//go:build cgo

package nsenter

// The constructor is in nsenter_linux.c; importing "C" is what links it in.

// #cgo CFLAGS: -Wall -Wextra
import "C"

// Supported reports whether the constructor is linked in (built with cgo).
const Supported = true
