//go:build linux && cgo

package seccomp

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestMain doubles as the helper process: a filter cannot be unloaded, so
// each case loads its profile in a fresh copy of the test binary
// (NOOK_SECCOMP_HELPER=case), the way init does: on a locked thread, under
// no_new_privs (which makes loading unprivileged), then execs or probes.
func TestMain(m *testing.M) {
	if c := os.Getenv("NOOK_SECCOMP_HELPER"); c != "" {
		os.Exit(helper(c))
	}
	os.Exit(m.Run())
}

var denyMkdir = &specs.LinuxSeccomp{
	DefaultAction: specs.ActAllow,
	Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
	Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno}},
}

var helperProfiles = map[string]*specs.LinuxSeccomp{
	"mkdir": denyMkdir,
	"x32":   denyMkdir,
	"int80": denyMkdir,
	"personality": {DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{
		Names: []string{"personality"}, Action: specs.ActErrno,
		Args: []specs.LinuxSeccompArg{{Index: 0, Value: 0xffffffff, Op: specs.OpNotEqual}}}}},
	"kill-process": {DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{
		Names: []string{"getppid"}, Action: specs.ActKillProcess}}},
	"default": DefaultProfile(),
	"notify": {DefaultAction: specs.ActAllow, ListenerPath: "/unused", Syscalls: []specs.LinuxSyscall{{
		Names: []string{"mkdir", "mkdirat"}, Action: specs.ActNotify}}},
}

func helper(name string) int {
	runtime.LockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		fmt.Println("no_new_privs:", err)
		return 2
	}
	listener, err := Load(helperProfiles[name], nil)
	if err != nil {
		fmt.Println("load:", err)
		return 2
	}
	arg := os.Getenv("NOOK_SECCOMP_ARG")
	switch name {
	case "mkdir", "default":
		if name == "default" {
			probeDefault()
		}
		err := syscall.Exec("/bin/sh", []string{"sh", "-c", arg}, os.Environ())
		fmt.Println("exec:", err)
		return 2
	case "x32":
		p, _ := unix.BytePtrFromString(arg)
		_, _, e := unix.Syscall(unix.SYS_MKDIR|0x40000000, uintptr(unsafe.Pointer(p)), 0o755, 0)
		fmt.Printf("x32 mkdir: %v\n", e)
	case "int80":
		err := syscall.Exec(arg, []string{arg}, os.Environ())
		fmt.Println("exec:", err)
		return 2
	case "personality":
		_, _, e1 := unix.Syscall(unix.SYS_PERSONALITY, 0xffffffff, 0, 0)
		_, _, e2 := unix.Syscall(unix.SYS_PERSONALITY, 0, 0, 0)
		fmt.Printf("query: %v; set: %v\n", e1, e2)
	case "kill-process":
		unix.Getppid()
		fmt.Println("getppid returned")
	case "notify":
		notifyHelper(listener, arg)
	}
	return 0
}

// notifyHelper is its own seccomp agent: another thread answers the
// notification for this thread's mkdirat with EXDEV.
func notifyHelper(listener int, dir string) {
	fmt.Printf("listener: %v\n", listener >= 0)
	// TSYNC: every thread has the filter, not only this one.
	tasks, _ := os.ReadDir("/proc/self/task")
	filtered := 0
	for _, task := range tasks {
		st, _ := os.ReadFile("/proc/self/task/" + task.Name() + "/status")
		if strings.Contains(string(st), "Seccomp:\t2") {
			filtered++
		}
	}
	fmt.Printf("threads filtered: %v\n", filtered == len(tasks) && filtered > 1)
	go func() {
		var req [80]byte // struct seccomp_notif, zeroed
		if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(listener), unix.SECCOMP_IOCTL_NOTIF_RECV, uintptr(unsafe.Pointer(&req))); e != 0 {
			fmt.Println("recv:", e)
			return
		}
		// struct seccomp_notif_resp: id, val, error, flags
		resp := struct {
			ID    uint64
			Val   int64
			Error int32
			Flags uint32
		}{ID: *(*uint64)(unsafe.Pointer(&req[0])), Error: -int32(unix.EXDEV)}
		if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(listener), unix.SECCOMP_IOCTL_NOTIF_SEND, uintptr(unsafe.Pointer(&resp))); e != 0 {
			fmt.Println("send:", e)
		}
	}()
	fmt.Printf("mkdirat: %v\n", unix.Mkdirat(unix.AT_FDCWD, dir, 0o755))
}

// probeDefault prints what the default profile does to calls a container
// should not make.
func probeDefault() {
	errno := func(_, _ uintptr, e syscall.Errno) syscall.Errno { return e }
	fmt.Printf("unshare(CLONE_NEWUSER): %v\n", errno(unix.Syscall(unix.SYS_UNSHARE, unix.CLONE_NEWUSER, 0, 0)))
	fmt.Printf("mount: %v\n", errno(unix.Syscall6(unix.SYS_MOUNT, 0, 0, 0, 0, 0, 0)))
	fmt.Printf("keyctl: %v\n", errno(unix.Syscall(unix.SYS_KEYCTL, 0, 0, 0)))
	fmt.Printf("x32 keyctl: %v\n", errno(unix.Syscall(unix.SYS_KEYCTL|0x40000000, 0, 0, 0)))
	fmt.Printf("clone3: %v\n", errno(unix.Syscall(unix.SYS_CLONE3, 0, 0, 0)))
	fmt.Printf("personality(READ_IMPLIES_EXEC): %v\n", errno(unix.Syscall(unix.SYS_PERSONALITY, 0x0400000, 0, 0)))
}

func runHelper(t *testing.T, name, arg string) (string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "NOOK_SECCOMP_HELPER="+name, "NOOK_SECCOMP_ARG="+arg)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestLoadErrnoOnMkdir(t *testing.T) {
	needAMD64(t)
	dir := filepath.Join(t.TempDir(), "x")
	out, err := runHelper(t, "mkdir", "mkdir "+dir)
	if err == nil || !strings.Contains(out, "Operation not permitted") {
		t.Fatalf("mkdir under the filter: err %v, output %q; want EPERM", err, out)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s exists", dir)
	}
}

func TestLoadArgCondition(t *testing.T) {
	out, err := runHelper(t, "personality", "")
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if want := "query: errno 0; set: operation not permitted"; strings.TrimSpace(out) != want {
		t.Fatalf("got %q, want %q", out, want)
	}
}

// TestLoadNotify: a profile with SCMP_ACT_NOTIFY gives a listener fd, the
// filter is on every thread (TSYNC with NEW_LISTENER), and the answer read
// from the listener is what the notified syscall returns.
func TestLoadNotify(t *testing.T) {
	needAMD64(t)
	dir := filepath.Join(t.TempDir(), "x")
	out, err := runHelper(t, "notify", dir)
	want := "listener: true\nthreads filtered: true\nmkdirat: invalid cross-device link\n"
	if err != nil || out != want {
		t.Fatalf("err %v, output %q; want %q", err, out, want)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s exists", dir)
	}
}

func TestLoadKillProcess(t *testing.T) {
	out, err := runHelper(t, "kill-process", "")
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("err %v, output %q; want death by SIGSYS", err, out)
	}
	ws := ee.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGSYS {
		t.Fatalf("status %v, output %q; want death by SIGSYS", ws, out)
	}
}

func TestLoadDefaultProfile(t *testing.T) {
	needAMD64(t)
	out, err := runHelper(t, "default", "echo ok; ls / >/dev/null")
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, want := range []string{
		"unshare(CLONE_NEWUSER): operation not permitted",
		"mount: operation not permitted",
		"keyctl: operation not permitted",
		"x32 keyctl: operation not permitted",
		"clone3: function not implemented",
		"personality(READ_IMPLIES_EXEC): operation not permitted",
		"\nok\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// The x32 entry point: the same syscall numbers with bit 30 set. Go can make
// such calls directly. The kernel may not run x32 (CONFIG_X86_X32_ABI,
// syscall.x32=), but seccomp runs first, so EPERM proves the filter saw it.
func TestLoadX32EntryPointFiltered(t *testing.T) {
	needAMD64(t)
	dir := filepath.Join(t.TempDir(), "x")
	out, err := runHelper(t, "x32", dir)
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if strings.TrimSpace(out) != "x32 mkdir: operation not permitted" {
		t.Fatalf("got %q, want EPERM", out)
	}
}

// int80Source makes mkdir(DIR) through the i386 entry point (int 0x80) from
// a static 64-bit program, and exits with the errno. A non-PIE static binary
// keeps DIR below 4 GiB, where a 32-bit pointer can reach it.
const int80Source = `
static const char path[] = DIR;
void _start(void) {
	long ret;
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(39), "b"(path), "c"(0755) : "memory");
	__asm__ volatile("syscall" :: "a"(60), "D"(ret < 0 ? -ret : 0) : "rcx", "r11", "memory");
	for (;;) {}
}
`

func TestLoadI386EntryPointFiltered(t *testing.T) {
	needAMD64(t)
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc not installed")
	}
	tmp := t.TempDir()
	build := func(dir string) string {
		src := filepath.Join(tmp, "int80.c")
		bin := filepath.Join(tmp, "int80-"+filepath.Base(dir))
		if err := os.WriteFile(src, []byte(int80Source), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("gcc", "-static", "-nostdlib", "-no-pie", "-O1", "-fno-stack-protector",
			fmt.Sprintf("-DDIR=%q", dir), "-o", bin, src).CombinedOutput()
		if err != nil {
			t.Fatalf("gcc: %v\n%s", err, out)
		}
		return bin
	}
	// Unfiltered first: a kernel without IA32 emulation answers ENOSYS.
	free := filepath.Join(tmp, "free")
	err := exec.Command(build(free)).Run()
	if err != nil {
		t.Skipf("int 0x80 mkdir without a filter: %v (no IA32 emulation?)", err)
	}
	if _, err := os.Stat(free); err != nil {
		t.Fatalf("int 0x80 mkdir without a filter: %v", err)
	}
	blocked := filepath.Join(tmp, "blocked")
	out, err := runHelper(t, "int80", build(blocked))
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != int(unix.EPERM) {
		t.Fatalf("int 0x80 mkdir under the filter: %v, %q; want exit %d (EPERM)", err, out, unix.EPERM)
	}
	if _, err := os.Stat(blocked); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s exists", blocked)
	}
}
