//go:build linux && cgo

package seccomp

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"unsafe"

	"github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// Program is a filter in the kernel's own form: the struct sock_filter array
// and the seccomp(2) flags to load it with. The runtime builds it (or finds
// it in its cache) before the container exists, and init loads it with one
// seccomp(2) call: no libseccomp work is left for the start path, where
// generating the BPF of Docker's profile costs ~40 ms (its ~390 rules for
// three architectures), and none of it is charged to the container's memory.
type Program struct {
	// BPF is the filter, 8 bytes per instruction, native byte order.
	BPF []byte `json:"bpf"`
	// Flags are the SECCOMP_FILTER_FLAG_* bits (TSYNC, LOG, SPEC_ALLOW,
	// WAIT_KILLABLE_RECV, NEW_LISTENER + TSYNC_ESRCH for notify rules).
	Flags uint `json:"flags"`
	// Notify is true when the filter has SCMP_ACT_NOTIFY rules: Load then
	// returns the listener fd.
	Notify bool `json:"notify,omitempty"`
}

// Program exports the compiled filter in the kernel's form, with the flags
// libseccomp would load it with.
func (f *Filter) Program() (*Program, error) {
	var b bytes.Buffer
	if err := f.ExportBPF(&b); err != nil {
		return nil, err
	}
	bpf := b.Bytes()
	if len(bpf) == 0 || len(bpf)%8 != 0 {
		return nil, fmt.Errorf("exporting seccomp BPF: %d bytes is not a filter", len(bpf))
	}
	p := &Program{BPF: bpf, Flags: unix.SECCOMP_FILTER_FLAG_TSYNC, Notify: f.Notify}
	if on, _ := f.scmp.GetLogBit(); on {
		p.Flags |= unix.SECCOMP_FILTER_FLAG_LOG
	}
	if on, _ := f.scmp.GetSSB(); on {
		p.Flags |= unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW
	}
	if on, _ := f.scmp.GetWaitKill(); on {
		p.Flags |= unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
	}
	if f.Notify {
		// TSYNC and NEW_LISTENER together need TSYNC_ESRCH (Linux 5.7),
		// as libseccomp does.
		p.Flags |= unix.SECCOMP_FILTER_FLAG_NEW_LISTENER | unix.SECCOMP_FILTER_FLAG_TSYNC_ESRCH
	}
	return p, nil
}

// Build compiles s into a Program. With cacheDir set, a program built before
// for the same profile, libseccomp, architecture and kernel is read from
// there instead (the engine starts every container with the same default
// profile), and a new one is stored. A cache that can't be read or written
// only costs the time to build. log may be nil.
func Build(s *specs.LinuxSeccomp, cacheDir string, log *slog.Logger) (*Program, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var path string
	if cacheDir != "" {
		if key, err := cacheKey(s); err == nil {
			path = filepath.Join(cacheDir, key+".json")
			if p, err := readProgram(path); err == nil {
				log.Debug("seccomp: cached program", "file", path, "instructions", len(p.BPF)/8)
				return p, nil
			}
		}
	}
	f, err := Compile(s, log)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p, err := f.Program()
	if err != nil {
		return nil, err
	}
	if path != "" {
		if err := writeProgram(path, p); err != nil {
			log.Debug("seccomp: not cached", "file", path, "error", err)
		}
	}
	return p, nil
}

// cacheKey names a program by everything its bytes depend on.
func cacheKey(s *specs.LinuxSeccomp) (string, error) {
	spec, err := json.Marshal(s)
	if err != nil {
		return "", err
	}
	var u unix.Utsname
	unix.Uname(&u)
	maj, min, mic := libseccomp.GetLibraryVersion()
	h := sha256.New()
	fmt.Fprintf(h, "nook seccomp program v1\x00%s\x00%d.%d.%d\x00%s\x00", runtime.GOARCH, maj, min, mic, unix.ByteSliceToString(u.Release[:]))
	h.Write(spec)
	return hex.EncodeToString(h.Sum(nil)), nil
}

func readProgram(path string) (*Program, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p Program
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, err
	}
	if len(p.BPF) == 0 || len(p.BPF)%8 != 0 {
		return nil, fmt.Errorf("%s: not a filter", path)
	}
	return &p, nil
}

// writeProgram stores p atomically: a reader sees the whole file or none.
func writeProgram(path string, p *Program) error {
	data, err := json.Marshal(p)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Load installs the program on the calling thread and, with TSYNC, the rest
// of the process: seccomp(SECCOMP_SET_MODE_FILTER). It returns the
// notification listener's fd when the program has notify rules, else -1.
// Without no_new_privs the caller needs CAP_SYS_ADMIN (EACCES).
func (p *Program) Load() (int, error) {
	n := len(p.BPF) / 8
	if n == 0 || n > 0xffff {
		return -1, fmt.Errorf("loading seccomp filter: %d instructions", n)
	}
	prog := unix.SockFprog{Len: uint16(n), Filter: (*unix.SockFilter)(unsafe.Pointer(&p.BPF[0]))}
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(p.Flags), uintptr(unsafe.Pointer(&prog)))
	runtime.KeepAlive(p)
	if errno != 0 {
		return -1, fmt.Errorf("loading seccomp filter: %w", errno)
	}
	if p.Flags&unix.SECCOMP_FILTER_FLAG_NEW_LISTENER != 0 {
		return int(r), nil
	}
	if r != 0 {
		// TSYNC without TSYNC_ESRCH: the id of a thread that could not be
		// synchronised.
		return -1, fmt.Errorf("loading seccomp filter: thread %d could not be synchronised", r)
	}
	return -1, nil
}
