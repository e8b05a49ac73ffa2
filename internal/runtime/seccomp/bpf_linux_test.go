//go:build linux && cgo

package seccomp

import (
	"bytes"
	"encoding/binary"
	"runtime"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// These tests run the exported BPF through a small classic-BPF interpreter
// with made-up struct seccomp_data, so they check what the kernel would
// decide for the i386 and x32 entry points without needing either ABI.

const (
	auditArchX86_64 = 0xC000003E
	auditArchI386   = 0x40000003
	auditArchARM64  = 0xC00000B7
	x32Bit          = 0x40000000

	retKillThread  = 0x00000000
	retKillProcess = 0x80000000
	retErrno       = 0x00050000
	retAllow       = 0x7fff0000
)

type call struct {
	arch uint32
	nr   int32
	args [6]uint64
}

// run interprets prog (struct sock_filter[]) on c's seccomp_data.
func run(t *testing.T, prog []byte, c call) uint32 {
	t.Helper()
	var data [64]byte
	binary.LittleEndian.PutUint32(data[0:], uint32(c.nr))
	binary.LittleEndian.PutUint32(data[4:], c.arch)
	for i, a := range c.args {
		binary.LittleEndian.PutUint64(data[16+8*i:], a)
	}
	var a, x uint32
	var mem [16]uint32
	for pc := 0; pc < len(prog)/8; pc++ {
		ins := prog[8*pc:]
		code := binary.LittleEndian.Uint16(ins)
		jt, jf := int(ins[2]), int(ins[3])
		k := binary.LittleEndian.Uint32(ins[4:])
		src := k
		if code&0x08 != 0 { // BPF_X
			src = x
		}
		switch code & 0x07 {
		case 0x00: // BPF_LD
			switch code & 0xe0 {
			case 0x20: // BPF_ABS (only BPF_W is valid for seccomp)
				a = binary.LittleEndian.Uint32(data[k:])
			case 0x00:
				a = k
			case 0x60:
				a = mem[k]
			default:
				t.Fatalf("pc %d: unsupported ld %#x", pc, code)
			}
		case 0x01: // BPF_LDX
			switch code & 0xe0 {
			case 0x00:
				x = k
			case 0x60:
				x = mem[k]
			default:
				t.Fatalf("pc %d: unsupported ldx %#x", pc, code)
			}
		case 0x02: // BPF_ST
			mem[k] = a
		case 0x03: // BPF_STX
			mem[k] = x
		case 0x04: // BPF_ALU
			switch code & 0xf0 {
			case 0x00:
				a += src
			case 0x10:
				a -= src
			case 0x40:
				a |= src
			case 0x50:
				a &= src
			case 0x60:
				a <<= src
			case 0x70:
				a >>= src
			case 0xa0:
				a ^= src
			default:
				t.Fatalf("pc %d: unsupported alu %#x", pc, code)
			}
		case 0x05: // BPF_JMP
			var cond bool
			switch code & 0xf0 {
			case 0x00: // BPF_JA
				pc += int(k)
				continue
			case 0x10:
				cond = a == src
			case 0x20:
				cond = a > src
			case 0x30:
				cond = a >= src
			case 0x40:
				cond = a&src != 0
			default:
				t.Fatalf("pc %d: unsupported jmp %#x", pc, code)
			}
			if cond {
				pc += jt
			} else {
				pc += jf
			}
		case 0x06: // BPF_RET
			if code&0x18 == 0x10 { // BPF_A
				return a
			}
			return k
		case 0x07: // BPF_MISC
			if code&0xf8 == 0x00 {
				x = a
			} else {
				a = x
			}
		}
	}
	t.Fatal("fell off the end of the program")
	return 0
}

func compileBPF(t *testing.T, s *specs.LinuxSeccomp) []byte {
	t.Helper()
	f, err := Compile(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var buf bytes.Buffer
	if err := f.ExportBPF(&buf); err != nil {
		t.Fatal(err)
	}
	if buf.Len() == 0 || buf.Len()%8 != 0 {
		t.Fatalf("BPF of %d bytes", buf.Len())
	}
	return buf.Bytes()
}

func needAMD64(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("syscall numbers below are x86's")
	}
}

// x86_64, i386 numbers.
const (
	nrMkdir, nrMkdir32             = 83, 39
	nrKeyctl, nrKeyctl32           = 250, 288
	nrUnshare, nrUnshare32         = 272, 310
	nrMount, nrMount32             = 165, 21
	nrPersonality, nrPersonality32 = 135, 136
	nrClone, nrClone32             = 56, 120
	nrPtrace                       = 101
	nrClone3                       = 435
	nrChown32                      = 212 // i386 only
	nrGetppid                      = 110
)

func TestDefaultProfileBPF(t *testing.T) {
	needAMD64(t)
	prog := compileBPF(t, DefaultProfile())
	const cloneNewUser = 0x10000000
	const sigchld = 17
	tests := []struct {
		name string
		c    call
		want uint32
	}{
		{"mkdir", call{arch: auditArchX86_64, nr: nrMkdir}, retAllow},
		{"i386 mkdir", call{arch: auditArchI386, nr: nrMkdir32}, retAllow},
		{"x32 mkdir", call{arch: auditArchX86_64, nr: nrMkdir | x32Bit}, retAllow},
		{"i386 chown32", call{arch: auditArchI386, nr: nrChown32}, retAllow},
		{"keyctl", call{arch: auditArchX86_64, nr: nrKeyctl}, retErrno | 1},
		{"i386 keyctl", call{arch: auditArchI386, nr: nrKeyctl32}, retErrno | 1},
		{"x32 keyctl", call{arch: auditArchX86_64, nr: nrKeyctl | x32Bit}, retErrno | 1},
		{"unshare", call{arch: auditArchX86_64, nr: nrUnshare, args: [6]uint64{cloneNewUser}}, retErrno | 1},
		{"i386 unshare", call{arch: auditArchI386, nr: nrUnshare32, args: [6]uint64{cloneNewUser}}, retErrno | 1},
		{"mount", call{arch: auditArchX86_64, nr: nrMount}, retErrno | 1},
		{"i386 mount", call{arch: auditArchI386, nr: nrMount32}, retErrno | 1},
		{"ptrace (kernel >= 4.8)", call{arch: auditArchX86_64, nr: nrPtrace}, retAllow},
		{"clone for fork", call{arch: auditArchX86_64, nr: nrClone, args: [6]uint64{sigchld}}, retAllow},
		{"clone CLONE_NEWUSER", call{arch: auditArchX86_64, nr: nrClone, args: [6]uint64{cloneNewUser | sigchld}}, retErrno | 1},
		{"i386 clone CLONE_NEWUSER", call{arch: auditArchI386, nr: nrClone32, args: [6]uint64{cloneNewUser | sigchld}}, retErrno | 1},
		{"clone3 is ENOSYS", call{arch: auditArchX86_64, nr: nrClone3}, retErrno | 38},
		{"personality query", call{arch: auditArchX86_64, nr: nrPersonality, args: [6]uint64{0xffffffff}}, retAllow},
		{"personality PER_LINUX32", call{arch: auditArchX86_64, nr: nrPersonality, args: [6]uint64{8}}, retAllow},
		{"personality READ_IMPLIES_EXEC", call{arch: auditArchX86_64, nr: nrPersonality, args: [6]uint64{0x0400000}}, retErrno | 1},
		{"i386 personality READ_IMPLIES_EXEC", call{arch: auditArchI386, nr: nrPersonality32, args: [6]uint64{0x0400000}}, retErrno | 1},
		{"arm64 is not in the filter", call{arch: auditArchARM64, nr: 1}, retKillThread},
	}
	for _, tt := range tests {
		if got := run(t, prog, tt.c); got != tt.want {
			t.Errorf("%s: got %#x, want %#x", tt.name, got, tt.want)
		}
	}
}

// Without SCMP_ARCH_X86/X32 in the spec, calls through those entry points
// never reach the rules: libseccomp kills them as a foreign architecture.
func TestNativeArchOnlyKillsOtherABIs(t *testing.T) {
	needAMD64(t)
	prog := compileBPF(t, &specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{{Names: []string{"keyctl"}, Action: specs.ActErrno}}})
	if got := run(t, prog, call{arch: auditArchI386, nr: nrMkdir32}); got != retKillThread {
		t.Errorf("i386 mkdir: got %#x, want kill", got)
	}
	if got := run(t, prog, call{arch: auditArchX86_64, nr: nrMkdir}); got != retAllow {
		t.Errorf("mkdir: got %#x, want allow", got)
	}
}

func TestOperatorsBPF(t *testing.T) {
	needAMD64(t)
	tests := []struct {
		op        specs.LinuxSeccompOperator
		value     uint64
		valueTwo  uint64
		match     []uint64
		different []uint64
	}{
		{specs.OpNotEqual, 5, 0, []uint64{0, 4, 6, 1 << 40}, []uint64{5}},
		{specs.OpLessThan, 5, 0, []uint64{0, 4}, []uint64{5, 6, 1 << 40}},
		{specs.OpLessEqual, 5, 0, []uint64{0, 5}, []uint64{6, 1 << 40}},
		{specs.OpEqualTo, 1 << 33, 0, []uint64{1 << 33}, []uint64{0, 1 << 32, 1<<33 | 1}},
		{specs.OpGreaterEqual, 5, 0, []uint64{5, 6, 1 << 40}, []uint64{0, 4}},
		{specs.OpGreaterThan, 5, 0, []uint64{6, 1 << 40}, []uint64{0, 5}},
		// (arg & 0xf0) == 0x20
		{specs.OpMaskedEqual, 0xf0, 0x20, []uint64{0x20, 0x2f, 0x120}, []uint64{0, 0x30, 0xf0}},
	}
	for _, tt := range tests {
		prog := compileBPF(t, &specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
			Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
			Syscalls: []specs.LinuxSyscall{{Names: []string{"personality"}, Action: specs.ActErrno,
				Args: []specs.LinuxSeccompArg{{Index: 2, Value: tt.value, ValueTwo: tt.valueTwo, Op: tt.op}}}}})
		check := func(v uint64, want uint32) {
			got := run(t, prog, call{arch: auditArchX86_64, nr: nrPersonality, args: [6]uint64{0, 0, v}})
			if got != want {
				t.Errorf("%s %#x/%#x on %#x: got %#x, want %#x", tt.op, tt.value, tt.valueTwo, v, got, want)
			}
		}
		for _, v := range tt.match {
			check(v, retErrno|1)
		}
		for _, v := range tt.different {
			check(v, retAllow)
		}
	}
}

func TestArgsAndVersusSplitBPF(t *testing.T) {
	needAMD64(t)
	spec := func(i, j uint) *specs.LinuxSeccomp {
		return &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{
			Names: []string{"personality"}, Action: specs.ActKillProcess, Args: []specs.LinuxSeccompArg{
				{Index: i, Value: 1, Op: specs.OpEqualTo}, {Index: j, Value: 2, Op: specs.OpEqualTo}}}}}
	}
	and := compileBPF(t, spec(0, 1))
	or := compileBPF(t, spec(0, 0))
	for _, tt := range []struct {
		prog []byte
		args [6]uint64
		want uint32
	}{
		{and, [6]uint64{1, 2}, retKillProcess},
		{and, [6]uint64{1, 3}, retAllow},
		{and, [6]uint64{2, 2}, retAllow},
		{or, [6]uint64{1}, retKillProcess},
		{or, [6]uint64{2}, retKillProcess},
		{or, [6]uint64{3}, retAllow},
	} {
		if got := run(t, tt.prog, call{arch: auditArchX86_64, nr: nrPersonality, args: tt.args}); got != tt.want {
			t.Errorf("args %v: got %#x, want %#x", tt.args[:2], got, tt.want)
		}
	}
}
