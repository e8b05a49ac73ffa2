// escape is a static helper copied into the containers of the security
// tests: it tries the attacks busybox cannot express and prints one line per
// step, "OK:step" when the kernel let it through, "DENIED:step: error" when not.
//
//	escape chroot        the classic chroot escape: chroot into a subdirectory
//	                     without leaving it, walk .. and chroot there; then list /
//	escape fdchroot      the same through a directory fd kept from before the chroot
//	escape raw           open a raw ICMP socket
//	escape ptrace PID    PTRACE_ATTACH to PID
//
// The kernel-interface attacks below make raw system calls and print one
// line per call: "OK:step" when it succeeded, "ERRNO:step:NAME" (EPERM,
// ENOSYS, ...) when it failed. Whatever they manage to create is undone
// before the helper exits, so the same binary doubles as a positive control
// on the host (where root is expected to succeed).
//
//	escape keyring       add_key to the session keyring, request_key,
//	                     keyctl(JOIN_SESSION_KEYRING), keyctl(GET_KEYRING_ID)
//	escape userns        unshare(CLONE_NEWUSER) (in a single-threaded raw
//	                     fork: the kernel refuses it to a threaded process),
//	                     clone(CLONE_NEWUSER), clone3(CLONE_NEWUSER),
//	                     unshare(CLONE_NEWNS)
//	escape bpf           bpf(BPF_MAP_CREATE), bpf(BPF_PROG_LOAD) of a
//	                     two-instruction socket filter
//	escape perf          perf_event_open of a software clock, for this task
//	                     and for the whole of cpu 0
//	escape userfaultfd   userfaultfd(O_CLOEXEC), and with UFFD_USER_MODE_ONLY
//	escape iouring       io_uring_setup(8 entries), io_uring_enter and
//	                     io_uring_register on fd -1 (EBADF or EINVAL if they
//	                     got through the filter: printed as OK)
//	escape personality   personality: the query, PER_LINUX32,
//	                     ADDR_NO_RANDOMIZE, PER_LINUX32|ADDR_NO_RANDOMIZE,
//	                     READ_IMPLIES_EXEC; then back to PER_LINUX
package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sys prints the outcome of one raw system call and returns whether it
// succeeded.
func sys(name string, errno syscall.Errno) bool {
	if errno != 0 {
		n := unix.ErrnoName(errno)
		if n == "" {
			n = strconv.Itoa(int(errno))
		}
		fmt.Printf("ERRNO:%s:%s\n", name, n)
		return false
	}
	fmt.Printf("OK:%s\n", name)
	return true
}

func cstr(s string) uintptr {
	b, _ := unix.BytePtrFromString(s)
	return uintptr(unsafe.Pointer(b))
}

// inChild runs one raw system call in a raw fork of this process: the child
// has a single thread (unshare(CLONE_NEWUSER) is refused to a threaded
// process with EINVAL, so in the Go parent it would not be a real attempt),
// makes the call and exits with its errno. Nothing in the child may touch
// the Go runtime.
func inChild(trap, a1 uintptr) syscall.Errno {
	r, _, e := syscall.RawSyscall6(unix.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
	if e != 0 {
		return e
	}
	if r == 0 {
		_, _, e := syscall.RawSyscall(trap, a1, 0, 0)
		syscall.RawSyscall(unix.SYS_EXIT_GROUP, uintptr(e), 0, 0)
	}
	return reap(int(r))
}

// reap waits for a raw child and returns the errno it exited with.
func reap(pid int) syscall.Errno {
	var ws syscall.WaitStatus
	for {
		_, err := syscall.Wait4(pid, &ws, 0, nil)
		if err != syscall.EINTR {
			break
		}
	}
	if !ws.Exited() {
		return syscall.ECHILD
	}
	return syscall.Errno(ws.ExitStatus())
}

// cloneUserns is clone(CLONE_NEWUSER|SIGCHLD); the child exits at once.
func cloneUserns() syscall.Errno {
	r, _, e := syscall.RawSyscall6(unix.SYS_CLONE, uintptr(unix.CLONE_NEWUSER|syscall.SIGCHLD), 0, 0, 0, 0, 0)
	if e != 0 {
		return e
	}
	if r == 0 {
		syscall.RawSyscall(unix.SYS_EXIT_GROUP, 0, 0, 0)
	}
	return reap(int(r))
}

// clone3Userns is clone3 with flags CLONE_NEWUSER and exit_signal SIGCHLD,
// no stack (the child runs on a copy of this one, like fork).
func clone3Userns() syscall.Errno {
	var args [11]uint64 // struct clone_args, CLONE_ARGS_SIZE_VER2
	args[0] = unix.CLONE_NEWUSER
	args[4] = uint64(syscall.SIGCHLD)
	r, _, e := syscall.RawSyscall(unix.SYS_CLONE3, uintptr(unsafe.Pointer(&args)), unsafe.Sizeof(args), 0)
	if e != 0 {
		return e
	}
	if r == 0 {
		syscall.RawSyscall(unix.SYS_EXIT_GROUP, 0, 0, 0)
	}
	return reap(int(r))
}

const (
	keySpecSessionKeyring = ^uintptr(2) // -3
	keyctlGetKeyringID    = 0
	keyctlJoinSession     = 1
	keyctlRevoke          = 3
	keyctlUnlink          = 9
)

func keyring() {
	payload := []byte("nook-sec-pwned")
	id, _, e := syscall.Syscall6(unix.SYS_ADD_KEY, cstr("user"), cstr("nook-sec-key"),
		uintptr(unsafe.Pointer(&payload[0])), uintptr(len(payload)), keySpecSessionKeyring, 0)
	if sys("add_key", e) {
		syscall.Syscall(unix.SYS_KEYCTL, keyctlUnlink, id, keySpecSessionKeyring)
		syscall.Syscall(unix.SYS_KEYCTL, keyctlRevoke, id, 0)
	}
	_, _, e = syscall.Syscall6(unix.SYS_REQUEST_KEY, cstr("user"), cstr("nook-sec-key"), 0, keySpecSessionKeyring, 0, 0)
	if e == syscall.ENOKEY {
		e = 0 // the call got through; there is simply no such key
	}
	sys("request_key", e)
	_, _, e = syscall.Syscall(unix.SYS_KEYCTL, keyctlGetKeyringID, keySpecSessionKeyring, 0)
	sys("keyctl-get-keyring-id", e)
	// Last: it replaces this process's session keyring (harmless here, the
	// helper exits next).
	_, _, e = syscall.Syscall(unix.SYS_KEYCTL, keyctlJoinSession, cstr("nook-sec-ring"), 0)
	sys("keyctl-join-session", e)
}

func userns() {
	sys("unshare-userns", inChild(unix.SYS_UNSHARE, unix.CLONE_NEWUSER))
	sys("clone-userns", cloneUserns())
	sys("clone3-userns", clone3Userns())
	sys("unshare-mountns", inChild(unix.SYS_UNSHARE, unix.CLONE_NEWNS))
}

func bpf() {
	// union bpf_attr for BPF_MAP_CREATE: map_type, key_size, value_size,
	// max_entries (u32 each), the rest zero.
	var attr [128]byte
	a := (*[4]uint32)(unsafe.Pointer(&attr[0]))
	a[0], a[1], a[2], a[3] = 2 /* BPF_MAP_TYPE_ARRAY */, 4, 4, 1
	fd, _, e := syscall.Syscall(unix.SYS_BPF, 0 /* BPF_MAP_CREATE */, uintptr(unsafe.Pointer(&attr[0])), unsafe.Sizeof(attr))
	if sys("bpf-map-create", e) {
		syscall.Close(int(fd))
	}
	// BPF_PROG_LOAD of "r0 = 0; exit" as a socket filter.
	insns := [2]uint64{0x00000000000000b7, 0x0000000000000095}
	license, _ := unix.BytePtrFromString("GPL")
	var pattr [128]byte
	*(*uint32)(unsafe.Pointer(&pattr[0])) = 1 // BPF_PROG_TYPE_SOCKET_FILTER
	*(*uint32)(unsafe.Pointer(&pattr[4])) = uint32(len(insns))
	*(*uint64)(unsafe.Pointer(&pattr[8])) = uint64(uintptr(unsafe.Pointer(&insns[0])))
	*(*uint64)(unsafe.Pointer(&pattr[16])) = uint64(uintptr(unsafe.Pointer(license)))
	fd, _, e = syscall.Syscall(unix.SYS_BPF, 5 /* BPF_PROG_LOAD */, uintptr(unsafe.Pointer(&pattr[0])), unsafe.Sizeof(pattr))
	if sys("bpf-prog-load", e) {
		syscall.Close(int(fd))
	}
}

func perf() {
	attr := unix.PerfEventAttr{Type: unix.PERF_TYPE_SOFTWARE, Config: unix.PERF_COUNT_SW_CPU_CLOCK}
	attr.Size = uint32(unsafe.Sizeof(attr))
	minus1 := ^uintptr(0)
	fd, _, e := syscall.Syscall6(unix.SYS_PERF_EVENT_OPEN, uintptr(unsafe.Pointer(&attr)), 0, minus1, minus1, 0, 0)
	if sys("perf-self", e) {
		syscall.Close(int(fd))
	}
	fd, _, e = syscall.Syscall6(unix.SYS_PERF_EVENT_OPEN, uintptr(unsafe.Pointer(&attr)), minus1, 0, minus1, 0, 0)
	if sys("perf-cpu0", e) {
		syscall.Close(int(fd))
	}
}

func userfaultfd() {
	fd, _, e := syscall.Syscall(unix.SYS_USERFAULTFD, unix.O_CLOEXEC|unix.O_NONBLOCK, 0, 0)
	if sys("userfaultfd", e) {
		syscall.Close(int(fd))
	}
	fd, _, e = syscall.Syscall(unix.SYS_USERFAULTFD, unix.O_CLOEXEC|1 /* UFFD_USER_MODE_ONLY */, 0, 0)
	if sys("userfaultfd-user-mode", e) {
		syscall.Close(int(fd))
	}
}

func iouring() {
	var params [120]byte // struct io_uring_params, all zero
	fd, _, e := syscall.Syscall(unix.SYS_IO_URING_SETUP, 8, uintptr(unsafe.Pointer(&params[0])), 0)
	if sys("io_uring_setup", e) {
		syscall.Close(int(fd))
	}
	minus1 := ^uintptr(0)
	_, _, e = syscall.Syscall6(unix.SYS_IO_URING_ENTER, minus1, 0, 0, 0, 0, 0)
	if e == syscall.EBADF {
		e = 0 // through the filter: the kernel looked at the fd
	}
	sys("io_uring_enter", e)
	_, _, e = syscall.Syscall6(unix.SYS_IO_URING_REGISTER, minus1, 0, 0, 0, 0, 0)
	if e == syscall.EBADF || e == syscall.EINVAL {
		e = 0
	}
	sys("io_uring_register", e)
}

// personality(2) values (include/uapi/linux/personality.h).
const (
	perLinux32      = 0x0008
	addrNoRandomize = 0x0040000
	readImpliesExec = 0x0400000
)

func personality() {
	try := func(name string, persona uintptr) {
		_, _, e := syscall.RawSyscall(unix.SYS_PERSONALITY, persona, 0, 0)
		sys(name, e)
		syscall.RawSyscall(unix.SYS_PERSONALITY, 0, 0, 0) // back to PER_LINUX
	}
	r, _, e := syscall.RawSyscall(unix.SYS_PERSONALITY, 0xffffffff, 0, 0)
	if sys("personality-query", e) {
		fmt.Printf("PERSONALITY:%#x\n", r)
	}
	try("personality-linux32", perLinux32)
	try("personality-addr-no-randomize", addrNoRandomize)
	try("personality-linux32-addr-no-randomize", perLinux32|addrNoRandomize)
	try("personality-read-implies-exec", readImpliesExec)
}

func step(name string, err error) bool {
	if err != nil {
		fmt.Printf("DENIED:%s: %v\n", name, err)
		return false
	}
	fmt.Printf("OK:%s\n", name)
	return true
}

func listRoot() {
	entries, err := os.ReadDir("/")
	if err != nil {
		fmt.Println("LIST-ERROR:", err)
		return
	}
	for _, e := range entries {
		fmt.Println("ROOT:" + e.Name())
	}
}

func walkUp() {
	for i := 0; i < 64; i++ {
		syscall.Chdir("..")
	}
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: escape chroot|fdchroot|raw|ptrace PID|keyring|userns|bpf|perf|userfaultfd|iouring|personality")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "chroot":
		os.MkdirAll("/jail/x", 0o755)
		syscall.Chdir("/jail")
		if !step("chroot-x", syscall.Chroot("x")) {
			break
		}
		walkUp()
		step("chroot-dot", syscall.Chroot("."))
		listRoot()
	case "fdchroot":
		os.MkdirAll("/jail/x", 0o755)
		fd, err := syscall.Open("/", syscall.O_RDONLY|syscall.O_DIRECTORY, 0)
		if err != nil {
			step("open-root", err)
			break
		}
		if !step("chroot-x", syscall.Chroot("/jail/x")) {
			break
		}
		step("fchdir", syscall.Fchdir(fd))
		walkUp()
		step("chroot-dot", syscall.Chroot("."))
		listRoot()
	case "raw":
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_ICMP)
		if step("raw-socket", err) {
			syscall.Close(fd)
		}
	case "keyring":
		keyring()
	case "userns":
		userns()
	case "bpf":
		bpf()
	case "perf":
		perf()
	case "userfaultfd":
		userfaultfd()
	case "iouring":
		iouring()
	case "personality":
		personality()
	case "ptrace":
		pid, _ := strconv.Atoi(os.Args[2])
		if step("ptrace-attach", syscall.PtraceAttach(pid)) {
			syscall.PtraceDetach(pid)
		}
	}
}
