// escape is a static helper copied into the containers of the security
// tests: it tries the attacks busybox cannot express and prints one line per
// step, "OK:step" when the kernel let it through, "DENIED:step: error" when not.
//
//	escape chroot        the classic chroot escape: chroot into a subdirectory
//	                     without leaving it, walk .. and chroot there; then list /
//	escape fdchroot      the same through a directory fd kept from before the chroot
//	escape raw           open a raw ICMP socket
//	escape ptrace PID    PTRACE_ATTACH to PID
package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
)

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
		fmt.Fprintln(os.Stderr, "usage: escape chroot|fdchroot|raw|ptrace PID")
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
	case "ptrace":
		pid, _ := strconv.Atoi(os.Args[2])
		if step("ptrace-attach", syscall.PtraceAttach(pid)) {
			syscall.PtraceDetach(pid)
		}
	}
}
