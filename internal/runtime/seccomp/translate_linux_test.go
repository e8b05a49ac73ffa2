//go:build linux && cgo

package seccomp

import (
	"reflect"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
)

func uintp(v uint) *uint { return &v }

func nr(t *testing.T, name string) libseccomp.ScmpSyscall {
	t.Helper()
	n, err := libseccomp.GetSyscallFromName(name)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func cond(arg uint, op libseccomp.ScmpCompareOp, a, b uint64) libseccomp.ScmpCondition {
	return libseccomp.ScmpCondition{Argument: arg, Op: op, Operand1: a, Operand2: b}
}

func TestTranslate(t *testing.T) {
	eperm := libseccomp.ActErrno.SetReturnCode(1)
	tests := []struct {
		name  string
		spec  specs.LinuxSeccomp
		def   libseccomp.ScmpAction
		rules []rule // nr filled from name
		unk   []string
	}{{
		name: "errno default is EPERM, kill is kill_thread",
		spec: specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"getpid", "getppid"}, Action: specs.ActAllow},
			{Names: []string{"ptrace"}, Action: specs.ActKill},
		}},
		def: eperm,
		rules: []rule{
			{name: "getpid", action: libseccomp.ActAllow, conds: nil},
			{name: "getppid", action: libseccomp.ActAllow, conds: nil},
			{name: "ptrace", action: libseccomp.ActKillThread, conds: nil},
		},
	}, {
		name: "errnoRet, trace, and rules equal to the default dropped",
		spec: specs.LinuxSeccomp{DefaultAction: specs.ActErrno, DefaultErrnoRet: uintp(38),
			Syscalls: []specs.LinuxSyscall{
				{Names: []string{"mkdir"}, Action: specs.ActErrno, ErrnoRet: uintp(13)},
				{Names: []string{"rmdir"}, Action: specs.ActErrno, ErrnoRet: uintp(38)},
				{Names: []string{"kill"}, Action: specs.ActTrace},
				{Names: []string{"tkill"}, Action: specs.ActKillProcess},
				{Names: []string{"tgkill"}, Action: specs.ActTrap},
				{Names: []string{"getuid"}, Action: specs.ActLog},
			}},
		def: libseccomp.ActErrno.SetReturnCode(38),
		rules: []rule{
			{name: "mkdir", action: libseccomp.ActErrno.SetReturnCode(13)},
			{name: "kill", action: libseccomp.ActTrace.SetReturnCode(1)},
			{name: "tkill", action: libseccomp.ActKillProcess},
			{name: "tgkill", action: libseccomp.ActTrap},
			{name: "getuid", action: libseccomp.ActLog},
		},
	}, {
		name: "args on different indexes are ANDed in one rule",
		spec: specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"socket"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{
				{Index: 0, Value: 16, Op: specs.OpEqualTo},
				{Index: 1, Value: 3, Op: specs.OpNotEqual},
				{Index: 2, Value: 0xf0, ValueTwo: 0x10, Op: specs.OpMaskedEqual},
			}},
		}},
		def: libseccomp.ActAllow,
		rules: []rule{{name: "socket", action: eperm, conds: []libseccomp.ScmpCondition{
			cond(0, libseccomp.CompareEqual, 16, 0),
			cond(1, libseccomp.CompareNotEqual, 3, 0),
			cond(2, libseccomp.CompareMaskedEqual, 0xf0, 0x10),
		}}},
	}, {
		name: "a repeated index splits into one rule per arg (runc)",
		spec: specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"personality"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{
				{Index: 0, Value: 1, Op: specs.OpLessThan},
				{Index: 0, Value: 9, Op: specs.OpGreaterThan},
				{Index: 1, Value: 2, Op: specs.OpLessEqual},
				{Index: 5, Value: 4, Op: specs.OpGreaterEqual},
			}},
		}},
		def: libseccomp.ActAllow,
		rules: []rule{
			{name: "personality", action: eperm, conds: []libseccomp.ScmpCondition{cond(0, libseccomp.CompareLess, 1, 0)}},
			{name: "personality", action: eperm, conds: []libseccomp.ScmpCondition{cond(0, libseccomp.CompareGreater, 9, 0)}},
			{name: "personality", action: eperm, conds: []libseccomp.ScmpCondition{cond(1, libseccomp.CompareLessOrEqual, 2, 0)}},
			{name: "personality", action: eperm, conds: []libseccomp.ScmpCondition{cond(5, libseccomp.CompareGreaterEqual, 4, 0)}},
		},
	}, {
		name: "unknown syscall names are skipped",
		spec: specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"no_such_syscall", "mkdir"}, Action: specs.ActErrno},
		}},
		def:   libseccomp.ActAllow,
		rules: []rule{{name: "mkdir", action: eperm}},
		unk:   []string{"no_such_syscall"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := translate(&tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if p.defaultAction != tt.def {
				t.Errorf("default = %v, want %v", p.defaultAction, tt.def)
			}
			for i := range tt.rules {
				tt.rules[i].nr = nr(t, tt.rules[i].name)
			}
			if !reflect.DeepEqual(p.rules, tt.rules) {
				t.Errorf("rules:\n got %+v\nwant %+v", p.rules, tt.rules)
			}
			if !reflect.DeepEqual(p.unknown, tt.unk) {
				t.Errorf("unknown = %v, want %v", p.unknown, tt.unk)
			}
		})
	}
}

func TestTranslateArchsAndFlags(t *testing.T) {
	needAMD64(t) // libseccomp may not know every arch elsewhere
	p, err := translate(&specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32, specs.ArchAARCH64, specs.ArchLOONGARCH64},
		Flags: []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_TSYNC", specs.LinuxSeccompFlagLog,
			specs.LinuxSeccompFlagSpecAllow, specs.LinuxSeccompFlagWaitKillableRecv},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []libseccomp.ScmpArch{libseccomp.ArchAMD64, libseccomp.ArchX86, libseccomp.ArchX32,
		libseccomp.ArchARM64, libseccomp.ArchLOONGARCH64}
	if !reflect.DeepEqual(p.archs, want) {
		t.Errorf("archs = %v, want %v", p.archs, want)
	}
	if !p.log || !p.specAllow {
		t.Errorf("log = %v, specAllow = %v, want both", p.log, p.specAllow)
	}
}

func TestTranslateErrors(t *testing.T) {
	tests := []struct {
		name string
		spec specs.LinuxSeccomp
		want string
	}{
		{"bad default action", specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_FOO"}, `unknown seccomp action "SCMP_ACT_FOO"`},
		{"bad rule action", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdir"}, Action: "SCMP_ACT_BAR"}}}, `unknown seccomp action "SCMP_ACT_BAR"`},
		{"bad operator", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdir"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 0, Op: "SCMP_CMP_XOR"}}}}},
			`unknown seccomp operator "SCMP_CMP_XOR"`},
		{"bad arch", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{"SCMP_ARCH_VAX"}},
			`unknown seccomp architecture "SCMP_ARCH_VAX"`},
		{"arch without prefix", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{"x86_64"}},
			`unknown seccomp architecture "x86_64"`},
		{"bad flag", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Flags: []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_NOPE"}},
			`unknown seccomp flag "SECCOMP_FILTER_FLAG_NOPE"`},
		{"arg index", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdir"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 6, Op: specs.OpEqualTo}}}}},
			"argument index 6 out of range"},
		{"errnoRet on allow", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, DefaultErrnoRet: uintp(1)},
			"errnoRet is not valid with SCMP_ACT_ALLOW"},
		{"errnoRet on kill", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdir"}, Action: specs.ActKillProcess, ErrnoRet: uintp(1)}}},
			"errnoRet is not valid with SCMP_ACT_KILL_PROCESS"},
		{"empty names", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
			{Action: specs.ActErrno}}}, "names must not be empty"},
		{"notify default", specs.LinuxSeccomp{DefaultAction: specs.ActNotify, ListenerPath: "/run/agent.sock"},
			"SCMP_ACT_NOTIFY cannot be the default action"},
		{"notify on write", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: "/run/agent.sock",
			Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir", "write"}, Action: specs.ActNotify}}},
			"SCMP_ACT_NOTIFY cannot be used for write"},
		{"notify without listenerPath", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdir"}, Action: specs.ActNotify}}}, "SCMP_ACT_NOTIFY needs listenerPath"},
		{"metadata without listenerPath", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerMetadata: "x"},
			"listenerMetadata is set but listenerPath is not"},
		{"notify with errnoRet", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: "/run/agent.sock",
			Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActNotify, ErrnoRet: new(uint)}}},
			"errnoRet is not valid with SCMP_ACT_NOTIFY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := translate(&tt.spec)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
			if _, cerr := Compile(&tt.spec, nil); cerr == nil {
				t.Fatal("Compile accepted what translate refused")
			}
		})
	}
}

// TestTranslateNotify: SCMP_ACT_NOTIFY rules compile, mark the plan (and the
// filter) as making a listener, and WAIT_KILLABLE_RECV only counts then.
func TestTranslateNotify(t *testing.T) {
	s := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: "/run/agent.sock", ListenerMetadata: "m",
		Flags:    []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagWaitKillableRecv},
		Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActNotify}}}
	p, err := translate(s)
	if err != nil {
		t.Fatal(err)
	}
	if !p.notify || !p.waitKill || len(p.rules) != 2 || p.rules[0].action != libseccomp.ActNotify {
		t.Errorf("plan: notify %v waitKill %v rules %+v", p.notify, p.waitKill, p.rules)
	}
	if !HasNotify(s) || HasNotify(nil) || HasNotify(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow}) {
		t.Error("HasNotify")
	}
	s.Flags = nil
	f, err := Compile(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if !f.Notify {
		t.Error("Filter.Notify = false")
	}
	p, err = translate(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
		Flags: []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagWaitKillableRecv}})
	if err != nil || p.notify || p.waitKill {
		t.Errorf("WAIT_KILLABLE_RECV without notify: %+v, %v", p, err)
	}
}

func TestCompileDefaultProfile(t *testing.T) {
	needAMD64(t)
	f, err := Compile(DefaultProfile(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Rules < 300 {
		t.Errorf("Rules = %d, want the ~350 of Docker's profile", f.Rules)
	}
	if got := strings.Join(f.Archs, ","); got != "amd64,x86,x32" {
		t.Errorf("Archs = %s, want amd64,x86,x32", got)
	}
	t.Logf("rules %d, archs %v, skipped %v", f.Rules, f.Archs, f.Skipped)
}
