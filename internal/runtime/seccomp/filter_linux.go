//go:build linux && cgo

package seccomp

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// Filter is a compiled seccomp filter, not yet loaded into the kernel.
// Release it with Close.
type Filter struct {
	scmp *libseccomp.ScmpFilter

	// Default is the spec's defaultAction.
	Default specs.LinuxSeccompAction
	// Rules counts the libseccomp rules added (a spec entry with several
	// names, or with repeated argument indexes, gives several).
	Rules int
	// Archs lists the architectures the filter covers, the native one first.
	Archs []string
	// Skipped lists the syscall names libseccomp does not know.
	Skipped []string
	// Notify is true when some rule is SCMP_ACT_NOTIFY: Load then makes a
	// notification listener (SECCOMP_FILTER_FLAG_NEW_LISTENER).
	Notify bool
}

// Compile builds the filter a spec's seccomp object describes, without
// loading it. log may be nil.
func Compile(s *specs.LinuxSeccomp, log *slog.Logger) (*Filter, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p, err := translate(s)
	if err != nil {
		return nil, err
	}
	for _, name := range p.unknown {
		log.Debug("seccomp: unknown syscall ignored", "syscall", name)
	}
	scmp, err := libseccomp.NewFilter(p.defaultAction)
	if err != nil {
		return nil, fmt.Errorf("creating seccomp filter: %w", err)
	}
	f := &Filter{scmp: scmp, Default: s.DefaultAction, Skipped: p.unknown, Notify: p.notify}
	if err := f.build(p); err != nil {
		scmp.Release()
		return nil, err
	}
	log.Debug("seccomp", "default", s.DefaultAction, "rules", f.Rules,
		"archs", strings.Join(f.Archs, ","), "skipped", len(f.Skipped), "notify", f.Notify)
	return f, nil
}

func (f *Filter) build(p *plan) error {
	native, err := libseccomp.GetNativeArch()
	if err != nil {
		return fmt.Errorf("reading native architecture: %w", err)
	}
	f.Archs = append(f.Archs, native.String())
	for _, a := range p.archs {
		// AddArch of an architecture already present (the native one) is a
		// no-op in libseccomp-golang.
		if err := f.scmp.AddArch(a); err != nil {
			return fmt.Errorf("adding architecture %s to seccomp filter: %w", a, err)
		}
		if a != native {
			f.Archs = append(f.Archs, a.String())
		}
	}
	// libseccomp sets PR_SET_NO_NEW_PRIVS itself on load unless told not to.
	// Whether the container gets no_new_privs is the spec's
	// process.noNewPrivileges and the caller's business, as in runc.
	if err := f.scmp.SetNoNewPrivsBit(false); err != nil {
		return fmt.Errorf("clearing seccomp no_new_privs attribute: %w", err)
	}
	if p.log {
		if err := f.scmp.SetLogBit(true); err != nil {
			return fmt.Errorf("setting seccomp flag SECCOMP_FILTER_FLAG_LOG: %w", err)
		}
	}
	if p.waitKill {
		// libseccomp >= 2.6 only; an older one says so (VersionError).
		if err := f.scmp.SetWaitKill(true); err != nil {
			return fmt.Errorf("setting seccomp flag SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: %w", err)
		}
	}
	if p.specAllow {
		if err := f.scmp.SetSSB(true); err != nil {
			return fmt.Errorf("setting seccomp flag SECCOMP_FILTER_FLAG_SPEC_ALLOW: %w", err)
		}
	}
	// A binary tree of syscall numbers instead of a linear list: fewer
	// instructions per syscall for long profiles. runc does the same past 32
	// rules; libseccomp <= 2.5.4 misbehaves with it on an empty filter.
	if len(p.rules) > 32 {
		if err := f.scmp.SetOptimize(2); err != nil && !errors.As(err, new(*libseccomp.VersionError)) {
			return fmt.Errorf("setting seccomp filter optimization: %w", err)
		}
	}
	for _, r := range p.rules {
		var err error
		if len(r.conds) == 0 {
			err = f.scmp.AddRule(r.nr, r.action)
		} else {
			err = f.scmp.AddRuleConditional(r.nr, r.action, r.conds)
		}
		if err != nil {
			return fmt.Errorf("adding seccomp rule for %s: %w", r.name, err)
		}
		f.Rules++
	}
	return nil
}

// Load loads the filter into the kernel for the calling thread and, with
// TSYNC, the other threads of the process. Without no_new_privs the caller
// needs CAP_SYS_ADMIN (seccomp(2), EACCES).
//
// With SCMP_ACT_NOTIFY rules (f.Notify) it returns the listener fd the
// kernel made (close-on-exec), which the caller owns; else -1. Until an agent
// reads the listener, every notified syscall of this process waits.
func (f *Filter) Load() (int, error) {
	if err := f.scmp.Load(); err != nil {
		return -1, fmt.Errorf("loading seccomp filter: %w", err)
	}
	if !f.Notify {
		return -1, nil
	}
	// libseccomp keeps the fd from the load; asking for it makes no syscall.
	fd, err := f.scmp.GetNotifFd()
	if err != nil || fd < 0 {
		return -1, fmt.Errorf("getting the seccomp listener fd: %w", err)
	}
	return int(fd), nil
}

// ExportBPF writes the filter as the kernel sees it: an array of struct
// sock_filter (8 bytes each, native byte order).
func (f *Filter) ExportBPF(w io.Writer) error {
	// libseccomp < 2.6 can only export to a file descriptor.
	fd, err := unix.MemfdCreate("seccomp-bpf", unix.MFD_CLOEXEC)
	if err != nil {
		return fmt.Errorf("creating memfd for seccomp BPF: %w", err)
	}
	file := os.NewFile(uintptr(fd), "seccomp-bpf")
	defer file.Close()
	if err := f.scmp.ExportBPF(file); err != nil {
		return fmt.Errorf("exporting seccomp BPF: %w", err)
	}
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("exporting seccomp BPF: %w", err)
	}
	if _, err := io.Copy(w, file); err != nil {
		return fmt.Errorf("exporting seccomp BPF: %w", err)
	}
	return nil
}

// Close releases libseccomp's filter context.
func (f *Filter) Close() {
	f.scmp.Release()
}

// Load builds s into a Program and loads it into the calling thread (and,
// by TSYNC, the rest of the process): what init does, in one step. See
// doc.go for where it goes relative to setuid, capabilities and
// no_new_privs. log may be nil.
//
// It returns the notification listener's fd when s has SCMP_ACT_NOTIFY
// rules (HasNotify), else -1. The caller hands it to the agent at
// s.ListenerPath and closes it.
func Load(s *specs.LinuxSeccomp, log *slog.Logger) (int, error) {
	p, err := Build(s, "", log)
	if err != nil {
		return -1, err
	}
	return p.Load()
}

// Check compiles s and throws the filter away: the runtime calls it before
// it creates anything, so that a bad profile is a one-line create error.
func Check(s *specs.LinuxSeccomp, log *slog.Logger) error {
	f, err := Compile(s, log)
	if err != nil {
		return err
	}
	f.Close()
	return nil
}
