package cgroups

import (
	"encoding/binary"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/cilium/ebpf/asm"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// allowed is the meaning of a device list, written the plain way: start
// from deny-all and let each rule, in order, set the verdict of each
// access letter it names for the devices it names. The tests compare the
// compiled program with it.
func allowed(rules []specs.LinuxDeviceCgroup, typ, major, minor, access int32) bool {
	var ok int32 // access letters currently allowed
	for _, r := range rules {
		b, err := parseDeviceRule(r)
		if err != nil {
			panic(err)
		}
		if (b.typ != 0 && b.typ != typ) || (b.major >= 0 && b.major != major) || (b.minor >= 0 && b.minor != minor) {
			continue
		}
		if b.allow {
			ok |= b.access
		} else {
			ok &^= b.access
		}
	}
	return access&^ok == 0
}

// runFilter interprets the few eBPF instructions devicesV2 emits, on a
// bpf_cgroup_dev_ctx, so the program's logic is tested without root.
// Real kernels run it in TestRootDevicesV2.
func runFilter(t *testing.T, insns asm.Instructions, typ, major, minor, access int32) bool {
	t.Helper()
	var ctx [12]byte
	binary.NativeEndian.PutUint32(ctx[0:], uint32(access)<<16|uint32(typ))
	binary.NativeEndian.PutUint32(ctx[4:], uint32(major))
	binary.NativeEndian.PutUint32(ctx[8:], uint32(minor))
	labels := map[string]int{}
	for i, ins := range insns {
		if s := ins.Symbol(); s != "" {
			labels[s] = i
		}
	}
	var reg [11]uint64
	for pc, steps := 0, 0; steps < 10000; steps++ {
		ins := insns[pc]
		op := ins.OpCode
		src := uint64(ins.Constant)
		if op.Source() == asm.RegSource {
			src = reg[ins.Src]
		}
		pc++
		switch {
		case op.Class() == asm.LdXClass && op.Size() == asm.Word && ins.Src == asm.R1:
			reg[ins.Dst] = uint64(binary.NativeEndian.Uint32(ctx[ins.Offset:]))
		case op.Class() == asm.ALUClass: // 32 bits, result zero-extended
			d, s := uint32(reg[ins.Dst]), uint32(src)
			switch op.ALUOp() {
			case asm.And:
				d &= s
			case asm.RSh:
				d >>= s
			case asm.Mov:
				d = s
			default:
				t.Fatalf("unexpected instruction %v", ins)
			}
			reg[ins.Dst] = uint64(d)
		case op.Class() == asm.JumpClass && op.JumpOp() == asm.Exit:
			return reg[asm.R0] != 0
		case op.Class() == asm.JumpClass && (op.JumpOp() == asm.JEq || op.JumpOp() == asm.JNE):
			if (reg[ins.Dst] == src) == (op.JumpOp() == asm.JEq) {
				target, ok := labels[ins.Reference()]
				if !ok {
					t.Fatalf("jump to unknown label %q", ins.Reference())
				}
				pc = target
			}
		default:
			t.Fatalf("unexpected instruction %v", ins)
		}
	}
	t.Fatal("program did not exit")
	return false
}

const (
	blk   = unix.BPF_DEVCG_DEV_BLOCK
	chr   = unix.BPF_DEVCG_DEV_CHAR
	accR  = unix.BPF_DEVCG_ACC_READ
	accW  = unix.BPF_DEVCG_ACC_WRITE
	accM  = unix.BPF_DEVCG_ACC_MKNOD
	accRW = accR | accW
)

func devRule(allow bool, typ string, major, minor int64, access string) specs.LinuxDeviceCgroup {
	r := specs.LinuxDeviceCgroup{Allow: allow, Type: typ, Access: access}
	if major != -1 {
		r.Major = i64(major)
	}
	if minor != -1 {
		r.Minor = i64(minor)
	}
	return r
}

// runtimeDefaults is the shape of the list the runtime passes: the
// spec's deny-all, then allows in the style of runc's defaults.
var runtimeDefaults = []specs.LinuxDeviceCgroup{
	{Allow: false, Access: "rwm"},
	devRule(true, "c", 1, 3, "rwm"),   // null
	devRule(true, "c", 1, 5, "r"),     // zero, read only
	devRule(true, "c", -1, -1, "m"),   // mknod any char
	devRule(true, "b", -1, -1, "m"),   // mknod any block
	devRule(true, "c", 136, -1, "rw"), // pts
}

func TestDevicesV2(t *testing.T) {
	for _, c := range []struct {
		name                      string
		rules                     []specs.LinuxDeviceCgroup
		typ, major, minor, access int32
		want                      bool
	}{
		{"null read", runtimeDefaults, chr, 1, 3, accR, true},
		{"null read write", runtimeDefaults, chr, 1, 3, accRW, true},
		{"zero read", runtimeDefaults, chr, 1, 5, accR, true},
		{"zero write", runtimeDefaults, chr, 1, 5, accW, false},
		{"zero read write", runtimeDefaults, chr, 1, 5, accRW, false},
		{"urandom read", runtimeDefaults, chr, 1, 9, accR, false},
		{"block with null's numbers", runtimeDefaults, blk, 1, 3, accR, false},
		{"mknod char", runtimeDefaults, chr, 10, 200, accM, true},
		{"mknod block", runtimeDefaults, blk, 8, 0, accM, true},
		{"read block", runtimeDefaults, blk, 8, 0, accR, false},
		{"pts read write", runtimeDefaults, chr, 136, 4, accRW, true},
		{"pts mknod", runtimeDefaults, chr, 136, 4, accM, true},
		{"empty type is any", []specs.LinuxDeviceCgroup{{Allow: true, Access: "r"}}, blk, 7, 7, accR, true},
		{"later deny wins", []specs.LinuxDeviceCgroup{devRule(true, "a", -1, -1, ""), devRule(false, "c", 1, 3, "w")}, chr, 1, 3, accRW, false},
		{"later deny leaves other letters", []specs.LinuxDeviceCgroup{devRule(true, "a", -1, -1, ""), devRule(false, "c", 1, 3, "w")}, chr, 1, 3, accR, true},
		{"later allow wins", []specs.LinuxDeviceCgroup{devRule(false, "c", 1, 3, "rwm"), devRule(true, "c", -1, 3, "rw")}, chr, 1, 3, accRW, true},
		{"letters from two rules", []specs.LinuxDeviceCgroup{devRule(true, "c", 1, -1, "r"), devRule(true, "c", -1, 3, "w")}, chr, 1, 3, accRW, true},
		{"deny all at the end", []specs.LinuxDeviceCgroup{devRule(true, "c", 1, 3, "rwm"), {Allow: false}}, chr, 1, 3, accR, false},
		{"only denies", []specs.LinuxDeviceCgroup{devRule(false, "c", 1, 3, "w")}, chr, 1, 3, accR, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := allowed(c.rules, c.typ, c.major, c.minor, c.access); got != c.want {
				t.Errorf("allowed() = %v, want %v", got, c.want)
			}
			insns, err := devicesV2(c.rules)
			if err != nil {
				t.Fatal(err)
			}
			if got := runFilter(t, insns, c.typ, c.major, c.minor, c.access); got != c.want {
				t.Errorf("program says %v, want %v\n%v", got, c.want, insns)
			}
		})
	}
}

// TestDevicesV2Random compares the program with allowed on random lists
// over a few device numbers, for every request.
func TestDevicesV2Random(t *testing.T) {
	rnd := mrand.New(mrand.NewPCG(1, 2))
	nums := []int64{-1, 1, 3}
	for range 300 {
		rules := make([]specs.LinuxDeviceCgroup, rnd.IntN(7))
		for i := range rules {
			access := ""
			for _, l := range "rwm" {
				if rnd.IntN(2) == 0 {
					access += string(l)
				}
			}
			rules[i] = devRule(rnd.IntN(2) == 0, []string{"", "a", "b", "c"}[rnd.IntN(4)],
				nums[rnd.IntN(3)], nums[rnd.IntN(3)], access)
		}
		insns, err := devicesV2(rules)
		if err != nil {
			t.Fatal(err)
		}
		for _, typ := range []int32{blk, chr} {
			for _, major := range []int32{1, 2, 3} {
				for _, minor := range []int32{1, 3} {
					for access := int32(1); access < 8; access++ {
						want := allowed(rules, typ, major, minor, access)
						if got := runFilter(t, insns, typ, major, minor, access); got != want {
							t.Fatalf("rules %s: type %d %d:%d access %d: program says %v, want %v",
								fmtRules(rules), typ, major, minor, access, got, want)
						}
					}
				}
			}
		}
	}
}

func fmtRules(rules []specs.LinuxDeviceCgroup) string {
	var s []string
	for _, r := range rules {
		d, _ := deviceRule(r)
		s = append(s, fmt.Sprintf("%v %s", r.Allow, d))
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// TestDevicesV2Shape checks the program is the short one the comment on
// devicesV2 describes: six loads, then per rule only the checks it needs.
func TestDevicesV2Shape(t *testing.T) {
	insns, err := devicesV2([]specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}, devRule(true, "c", 1, 3, "rwm")})
	if err != nil {
		t.Fatal(err)
	}
	// 6 loads; allow c 1:3: 3 compares + and + jump; deny all: mov, and,
	// jump; two exits of 2.
	if len(insns) != 6+5+3+4 {
		t.Errorf("%d instructions, want 18:\n%v", len(insns), insns)
	}
	if err := insns.Marshal(new(strings.Builder), binary.LittleEndian); err != nil {
		t.Errorf("program does not assemble: %v", err)
	}
}

func TestDevicesV2Errors(t *testing.T) {
	for _, c := range []struct {
		rule specs.LinuxDeviceCgroup
		want string
	}{
		{specs.LinuxDeviceCgroup{Type: "x"}, `invalid type "x"`},
		{specs.LinuxDeviceCgroup{Type: "c", Access: "rx"}, `invalid access "rx"`},
		{specs.LinuxDeviceCgroup{Type: "c", Major: i64(-2)}, "major: -2 out of range"},
		{specs.LinuxDeviceCgroup{Type: "c", Minor: i64(1 << 32)}, "minor: 4294967296 out of range"},
	} {
		_, err := devicesV2([]specs.LinuxDeviceCgroup{c.rule})
		wantErr(t, err, c.want)
	}
}

// TestRootDevicesV2 attaches a real program on a pure v2 host (run it in
// the VM lane) and has a child in the cgroup try the devices.
func TestRootDevicesV2(t *testing.T) {
	m, _ := rootManager(t, Unified)
	dir := m.Paths()[""]
	rules := []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		devRule(true, "c", 1, 3, "rwm"),
		devRule(true, "c", 1, 5, "r"),
	}
	if err := m.Create(&specs.LinuxResources{Devices: rules}); err != nil {
		t.Fatal(err)
	}
	const script = `cat /dev/null && head -c1 /dev/zero >/dev/null && echo ok1
echo x > /dev/zero && echo BAD1
head -c1 /dev/urandom >/dev/null && echo BAD2
true`
	out := runInCgroup(t, dir, script)
	// The refusals must come from the filter: open(2) fails with EPERM.
	if !strings.Contains(out, "ok1") || strings.Contains(out, "BAD") || strings.Count(out, "Operation not permitted") != 2 {
		t.Errorf("with deny-all, allow c 1:3 rwm, c 1:5 r:\n%s", out)
	}

	// `update`: the new list replaces the old program, it is not added
	// beside it (where both would have to allow). Allowing everything but
	// writes to /dev/zero also checks a deny punched in a wildcard allow.
	rules = []specs.LinuxDeviceCgroup{devRule(true, "a", -1, -1, "rwm"), devRule(false, "c", 1, 5, "w")}
	if err := m.Set(&specs.LinuxResources{Devices: rules}); err != nil {
		t.Fatal(err)
	}
	out = runInCgroup(t, dir, `head -c1 /dev/urandom >/dev/null && echo ok2
echo x > /dev/zero && echo BAD3
true`)
	if !strings.Contains(out, "ok2") || strings.Contains(out, "BAD") || strings.Count(out, "Operation not permitted") != 1 {
		t.Errorf("after update to allow all, deny c 1:5 w:\n%s", out)
	}
	fd, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	progs, err := nookDevicePrograms(fd)
	for _, p := range progs {
		p.Close()
	}
	unix.Close(fd)
	if err != nil || len(progs) != 1 {
		t.Errorf("after update: %d nook device programs attached (%v), want 1", len(progs), err)
	}

	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s still there after Destroy (%v)", dir, err)
	}
}

// runInCgroup runs sh -c script with the child born in the cgroup dir
// (clone3 CLONE_INTO_CGROUP) and returns its output.
func runInCgroup(t *testing.T, dir, script string) string {
	t.Helper()
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(f.Fd())}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopChild(cmd) })
	if err := cmd.Wait(); err != nil {
		t.Errorf("sh -c: %v\n%s", err, out.String())
	}
	t.Logf("sh -c output:\n%s", out.String())
	return out.String()
}
