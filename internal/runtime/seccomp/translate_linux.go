//go:build linux && cgo

package seccomp

import (
	"errors"
	"fmt"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
)

// plan is a spec's seccomp object translated to libseccomp's terms, before
// anything is handed to libseccomp's filter builder. Keeping the two steps
// apart lets the translation be table-tested on its own.
type plan struct {
	defaultAction libseccomp.ScmpAction
	archs         []libseccomp.ScmpArch
	log           bool // SECCOMP_FILTER_FLAG_LOG
	specAllow     bool // SECCOMP_FILTER_FLAG_SPEC_ALLOW
	waitKill      bool // SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, with a listener only
	notify        bool // some rule is SCMP_ACT_NOTIFY: loading makes a listener
	rules         []rule
	// unknown lists syscall names libseccomp does not know; like runc we skip
	// them, so that one profile serves old and new kernels and libraries.
	unknown []string
}

// rule is one libseccomp rule: the action is taken for the syscall when all
// conditions hold (an empty list matches always).
type rule struct {
	name   string
	nr     libseccomp.ScmpSyscall
	action libseccomp.ScmpAction
	conds  []libseccomp.ScmpCondition
}

// errnoEPERM is the errno the spec says ERRNO and TRACE use when errnoRet is
// not given.
const errnoEPERM = 1

func translate(s *specs.LinuxSeccomp) (*plan, error) {
	if s == nil {
		return nil, errors.New("no seccomp configuration")
	}
	if err := checkNotify(s); err != nil {
		return nil, err
	}
	def, err := action(s.DefaultAction, s.DefaultErrnoRet)
	if err != nil {
		return nil, fmt.Errorf("seccomp defaultAction: %w", err)
	}
	p := &plan{defaultAction: def, notify: HasNotify(s)}
	if p.notify {
		if err := notifySupported(); err != nil {
			return nil, err
		}
	}
	for _, a := range s.Architectures {
		arch, err := arch(a)
		if err != nil {
			return nil, err
		}
		p.archs = append(p.archs, arch)
	}
	for _, f := range s.Flags {
		switch f {
		case "SECCOMP_FILTER_FLAG_TSYNC":
			// libseccomp-golang always loads with TSYNC where the kernel
			// has it (NewFilter sets the attribute), so every thread of
			// the loading process gets the filter: nothing to add.
		case specs.LinuxSeccompFlagLog:
			p.log = true
		case specs.LinuxSeccompFlagSpecAllow:
			p.specAllow = true
		case specs.LinuxSeccompFlagWaitKillableRecv:
			// Only meaningful with a notification listener: the kernel
			// refuses it without SECCOMP_FILTER_FLAG_NEW_LISTENER, so a
			// profile without SCMP_ACT_NOTIFY ignores it.
			p.waitKill = p.notify
		default:
			return nil, fmt.Errorf("unknown seccomp flag %q", f)
		}
	}
	for i, sc := range s.Syscalls {
		if len(sc.Names) == 0 {
			return nil, fmt.Errorf("seccomp syscalls[%d]: names must not be empty", i)
		}
		act, err := action(sc.Action, sc.ErrnoRet)
		if err != nil {
			return nil, fmt.Errorf("seccomp syscalls[%d] (%s): %w", i, sc.Names[0], err)
		}
		condSets, err := conditions(sc.Args)
		if err != nil {
			return nil, fmt.Errorf("seccomp syscalls[%d] (%s): %w", i, sc.Names[0], err)
		}
		if act == def {
			// libseccomp refuses a rule whose action is the default
			// (EACCES); such a rule changes nothing, so drop it like runc.
			continue
		}
		for _, name := range sc.Names {
			if name == "" {
				return nil, fmt.Errorf("seccomp syscalls[%d]: empty syscall name", i)
			}
			// Resolves to the native number, or to one of libseccomp's
			// negative pseudo-numbers for a name that exists only on other
			// architectures (chown32, socketcall, ...); rules added with
			// either are translated per architecture in the filter.
			nr, err := libseccomp.GetSyscallFromName(name)
			if err != nil {
				p.unknown = append(p.unknown, name)
				continue
			}
			for _, c := range condSets {
				p.rules = append(p.rules, rule{name: name, nr: nr, action: act, conds: c})
			}
		}
	}
	return p, nil
}

// action translates a spec action and its errnoRet. The spec: errnoRet
// defaults to EPERM, and on an action that takes no errno "the runtime MUST
// print an error and fail".
func action(a specs.LinuxSeccompAction, errnoRet *uint) (libseccomp.ScmpAction, error) {
	if errnoRet != nil && a != specs.ActErrno && a != specs.ActTrace {
		return libseccomp.ActInvalid, fmt.Errorf("errnoRet is not valid with %s (only with SCMP_ACT_ERRNO and SCMP_ACT_TRACE)", a)
	}
	code := uint(errnoEPERM)
	if errnoRet != nil {
		code = *errnoRet
		// SECCOMP_RET_DATA is 16 bits.
		if code > 0xffff {
			return libseccomp.ActInvalid, fmt.Errorf("errnoRet %d out of range", code)
		}
	}
	switch a {
	case specs.ActKill, specs.ActKillThread:
		// SCMP_ACT_KILL has always meant "kill the thread" (runc agrees).
		return libseccomp.ActKillThread, nil
	case specs.ActKillProcess:
		return libseccomp.ActKillProcess, nil
	case specs.ActTrap:
		return libseccomp.ActTrap, nil
	case specs.ActErrno:
		return libseccomp.ActErrno.SetReturnCode(int16(code)), nil
	case specs.ActTrace:
		return libseccomp.ActTrace.SetReturnCode(int16(code)), nil
	case specs.ActAllow:
		return libseccomp.ActAllow, nil
	case specs.ActLog:
		return libseccomp.ActLog, nil
	case specs.ActNotify:
		return libseccomp.ActNotify, nil
	default:
		return libseccomp.ActInvalid, fmt.Errorf("unknown seccomp action %q", a)
	}
}

// notifySupported checks that libseccomp and the kernel can load a filter
// with a listener on every thread at once: API level 6 means
// SECCOMP_FILTER_FLAG_TSYNC_ESRCH (Linux 5.7), without which TSYNC and
// NEW_LISTENER cannot be combined. Asking now also caches the level, so
// that libseccomp makes no detection syscalls after the filter is loaded.
func notifySupported() error {
	api, err := libseccomp.GetAPI()
	if err != nil || api < 6 {
		return fmt.Errorf("SCMP_ACT_NOTIFY needs libseccomp >= 2.5 and Linux >= 5.7 (libseccomp API level %d)", api)
	}
	return nil
}

var operators = map[specs.LinuxSeccompOperator]libseccomp.ScmpCompareOp{
	specs.OpNotEqual:     libseccomp.CompareNotEqual,
	specs.OpLessThan:     libseccomp.CompareLess,
	specs.OpLessEqual:    libseccomp.CompareLessOrEqual,
	specs.OpEqualTo:      libseccomp.CompareEqual,
	specs.OpGreaterEqual: libseccomp.CompareGreaterEqual,
	specs.OpGreaterThan:  libseccomp.CompareGreater,
	specs.OpMaskedEqual:  libseccomp.CompareMaskedEqual,
}

// maxArgs: a syscall has at most six arguments (index 0..5).
const maxArgs = 6

// conditions turns a rule's args into the condition lists of the libseccomp
// rules that implement it. Normally that is one rule whose conditions are
// ANDed. libseccomp cannot AND two conditions on the same argument, so when
// an index repeats we do what runc (libcontainer/seccomp/seccomp_linux.go,
// matchCall) and Docker before it do: one rule per condition, which ORs them.
// Profiles rely on that (e.g. allow when arg0 == A, or when arg0 == B).
func conditions(args []specs.LinuxSeccompArg) ([][]libseccomp.ScmpCondition, error) {
	if len(args) == 0 {
		return [][]libseccomp.ScmpCondition{nil}, nil
	}
	var conds []libseccomp.ScmpCondition
	var seen [maxArgs]int
	repeated := false
	for _, a := range args {
		op, ok := operators[a.Op]
		if !ok {
			return nil, fmt.Errorf("unknown seccomp operator %q", a.Op)
		}
		if a.Index >= maxArgs {
			return nil, fmt.Errorf("argument index %d out of range (a syscall has %d)", a.Index, maxArgs)
		}
		seen[a.Index]++
		repeated = repeated || seen[a.Index] > 1
		// MASKED_EQ: (arg & value) == valueTwo. The other operators compare
		// with value and ignore valueTwo.
		c, err := libseccomp.MakeCondition(a.Index, op, a.Value, a.ValueTwo)
		if err != nil {
			return nil, fmt.Errorf("seccomp condition on argument %d: %w", a.Index, err)
		}
		conds = append(conds, c)
	}
	if !repeated {
		return [][]libseccomp.ScmpCondition{conds}, nil
	}
	split := make([][]libseccomp.ScmpCondition, len(conds))
	for i, c := range conds {
		split[i] = []libseccomp.ScmpCondition{c}
	}
	return split, nil
}

// arch translates "SCMP_ARCH_X86_64" and friends.
func arch(a specs.Arch) (libseccomp.ScmpArch, error) {
	name, ok := strings.CutPrefix(string(a), "SCMP_ARCH_")
	if !ok {
		return libseccomp.ArchInvalid, fmt.Errorf("unknown seccomp architecture %q", a)
	}
	arch, err := libseccomp.GetArchFromString(strings.ToLower(name))
	if err != nil {
		return libseccomp.ArchInvalid, fmt.Errorf("unknown seccomp architecture %q", a)
	}
	return arch, nil
}
