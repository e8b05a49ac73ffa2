package cgroups

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// cgroup v2 has no devices.allow or devices.deny. Access to device nodes
// is decided by eBPF programs of type BPF_PROG_TYPE_CGROUP_DEVICE attached
// to the cgroup (cgroup-v2.rst "Device controller"): the kernel runs them
// on every open and mknod of a device node and refuses the access when
// one of them returns 0.
//
// devicesV2 compiles the OCI rules into one such program with the meaning
// the list has on v1 (devicesV1): start from deny-all, then each rule in
// spec order overrides the earlier ones for the devices and the access
// letters it names. So, for each access letter asked for, the last rule
// that names the device and that letter decides. The program walks the
// rules backwards and keeps in R3 the letters not decided yet: an allow
// rule that matches clears its letters, and the request is allowed once
// none are left; a deny rule that matches one of the remaining letters
// refuses the request. Letters no rule decides are denied.
//
// Two differences from v1, both towards what the spec says:
//   - A rule of type "a" matches both kinds of device with its numbers and
//     letters. v1 resets the whole list on any "a" rule and ignores its
//     numbers; for "a *:* rwm", the only "a" rule seen in practice, the
//     two agree.
//   - A deny rule that punches a hole in an earlier wildcard allow
//     ("allow c *:* rwm" then "deny c 1:3 w") takes effect. v1 silently
//     keeps the wildcard (runc refuses such lists for that reason).
//
// runc's libcontainer/cgroups/devices/devicefilter.go (from crun's
// ebpf.c) builds the same kind of program; it first reduces the list with
// a v1 emulator so that every rule has the same verdict.
func devicesV2(rules []specs.LinuxDeviceCgroup) (asm.Instructions, error) {
	// struct bpf_cgroup_dev_ctx (include/uapi/linux/bpf.h):
	//   u32 access_type  low 16 bits BPF_DEVCG_DEV_*, high 16 bits BPF_DEVCG_ACC_*
	//   u32 major
	//   u32 minor
	insns := asm.Instructions{
		asm.LoadMem(asm.R2, asm.R1, 0, asm.Word), // R2 = device type
		asm.And.Imm32(asm.R2, 0xffff),
		asm.LoadMem(asm.R3, asm.R1, 0, asm.Word), // R3 = access letters still to decide
		asm.RSh.Imm32(asm.R3, 16),
		asm.LoadMem(asm.R4, asm.R1, 4, asm.Word), // R4 = major
		asm.LoadMem(asm.R5, asm.R1, 8, asm.Word), // R5 = minor
	}
	// Blocks are numbered in the order they are emitted, last rule first;
	// a rule that does not match jumps to the next block, and past the
	// last one is "deny".
	next := func(block int) string {
		if block+1 == len(rules) {
			return "deny"
		}
		return "rule-" + strconv.Itoa(block+1)
	}
	for block := range len(rules) {
		r, err := parseDeviceRule(rules[len(rules)-1-block])
		if err != nil {
			return nil, err
		}
		start := len(insns)
		if r.typ != 0 {
			insns = append(insns, asm.JNE.Imm(asm.R2, r.typ, next(block)))
		}
		if r.major >= 0 {
			insns = append(insns, asm.JNE.Imm(asm.R4, r.major, next(block)))
		}
		if r.minor >= 0 {
			insns = append(insns, asm.JNE.Imm(asm.R5, r.minor, next(block)))
		}
		if r.allow {
			insns = append(insns,
				asm.And.Imm32(asm.R3, ^r.access), // these letters are allowed
				asm.JEq.Imm(asm.R3, 0, "allow"))
		} else {
			insns = append(insns,
				asm.Mov.Reg32(asm.R1, asm.R3),
				asm.And.Imm32(asm.R1, r.access),
				asm.JNE.Imm(asm.R1, 0, "deny")) // one of these letters is denied
		}
		insns[start] = insns[start].WithSymbol("rule-" + strconv.Itoa(block))
	}
	return append(insns,
		asm.Mov.Imm32(asm.R0, 0).WithSymbol("deny"),
		asm.Return(),
		asm.Mov.Imm32(asm.R0, 1).WithSymbol("allow"),
		asm.Return(),
	), nil
}

// bpfDeviceRule is one OCI device rule in the program's terms.
type bpfDeviceRule struct {
	allow        bool
	typ          int32 // BPF_DEVCG_DEV_BLOCK or _CHAR; 0 for any
	major, minor int32 // -1 for any
	access       int32 // BPF_DEVCG_ACC_* bits
}

func parseDeviceRule(r specs.LinuxDeviceCgroup) (bpfDeviceRule, error) {
	b := bpfDeviceRule{allow: r.Allow}
	switch r.Type {
	case "", "a":
	case "b":
		b.typ = unix.BPF_DEVCG_DEV_BLOCK
	case "c":
		b.typ = unix.BPF_DEVCG_DEV_CHAR
	default:
		return b, fmt.Errorf("device rule: invalid type %q (want a, b or c)", r.Type)
	}
	var err error
	if b.major, err = bpfDevNum(r.Major); err != nil {
		return b, fmt.Errorf("device rule: major: %w", err)
	}
	if b.minor, err = bpfDevNum(r.Minor); err != nil {
		return b, fmt.Errorf("device rule: minor: %w", err)
	}
	access := r.Access
	if access == "" {
		access = "rwm"
	}
	for _, c := range access {
		switch c {
		case 'r':
			b.access |= unix.BPF_DEVCG_ACC_READ
		case 'w':
			b.access |= unix.BPF_DEVCG_ACC_WRITE
		case 'm':
			b.access |= unix.BPF_DEVCG_ACC_MKNOD
		default:
			return b, fmt.Errorf("device rule: invalid access %q (want letters of rwm)", r.Access)
		}
	}
	return b, nil
}

// bpfDevNum is a major or minor number, -1 for any. Linux numbers fit in
// 12 and 20 bits, so anything past int32 is a mistake; refusing it keeps
// the 64-bit compare against a sign-extended immediate correct.
func bpfDevNum(n *int64) (int32, error) {
	switch {
	case n == nil || *n == -1:
		return -1, nil
	case *n < 0 || *n > math.MaxInt32:
		return 0, fmt.Errorf("%d out of range", *n)
	}
	return int32(*n), nil
}

// devicesProgName names nook's program in the kernel, so that Set (for
// `update`) finds the one it replaces among the cgroup's programs.
const devicesProgName = "nook_devices"

// attachDevices loads insns and attaches them to the cgroup dir, then
// detaches the nook programs that were attached before. Attaching with
// BPF_F_ALLOW_MULTI keeps programs others attached; while old and new are
// both attached an access needs both to allow it, so the swap never opens
// more than either list. The attachment holds the program for as long as
// the cgroup exists: removing the cgroup needs nothing more.
func attachDevices(log *slog.Logger, dir string, insns asm.Instructions) error {
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:         devicesProgName,
		Type:         ebpf.CGroupDevice,
		License:      "Apache",
		Instructions: insns,
	})
	if err != nil {
		return fmt.Errorf("loading device filter for %s: %w", dir, err)
	}
	defer prog.Close()
	fd, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening cgroup %s: %w", dir, err)
	}
	defer unix.Close(fd)
	old, err := nookDevicePrograms(fd)
	defer func() {
		for _, p := range old {
			p.Close()
		}
	}()
	if err != nil {
		return fmt.Errorf("listing device filters of %s: %w", dir, err)
	}
	err = link.RawAttachProgram(link.RawAttachProgramOptions{
		Target: fd, Program: prog, Attach: ebpf.AttachCGroupDevice, Flags: unix.BPF_F_ALLOW_MULTI})
	if err != nil {
		return fmt.Errorf("attaching device filter to %s: %w", dir, err)
	}
	for _, p := range old {
		err := link.RawDetachProgram(link.RawDetachProgramOptions{
			Target: fd, Program: p, Attach: ebpf.AttachCGroupDevice})
		if err != nil {
			return fmt.Errorf("detaching old device filter from %s: %w", dir, err)
		}
		log.Debug("devices bpf detached old program", "cgroup", dir)
	}
	return nil
}

// nookDevicePrograms opens the device programs attached directly to the
// cgroup fd that nook attached. The caller closes them, also on error.
func nookDevicePrograms(fd int) ([]*ebpf.Program, error) {
	q, err := link.QueryPrograms(link.QueryOptions{Target: fd, Attach: ebpf.AttachCGroupDevice})
	if err != nil {
		return nil, err
	}
	var ours []*ebpf.Program
	for _, ap := range q.Programs {
		p, err := ebpf.NewProgramFromID(ap.ID)
		if errors.Is(err, unix.ENOENT) {
			continue // detached and freed since the query
		}
		if err != nil {
			return ours, err
		}
		info, err := p.Info()
		if err != nil {
			p.Close()
			return ours, err
		}
		if strings.TrimRight(info.Name, "\x00") != devicesProgName {
			p.Close()
			continue
		}
		ours = append(ours, p)
	}
	return ours, nil
}
