package seccomp

import "github.com/opencontainers/runtime-spec/specs-go"

// This file transcribes moby's profiles/seccomp/default.json (Docker's default
// seccomp profile, as of moby/profiles commit 02e898b1) into Go data, entry by
// entry and in the same order. Keep it that way: a reader should be able to
// diff the two by eye. Conditions are kept as data (caps, arches) and resolved
// by DefaultProfileFor; see profile.go.

// dockerSyscall is one entry of default.json's "syscalls" array.
type dockerSyscall struct {
	names    []string
	action   specs.LinuxSeccompAction
	errnoRet uint
	args     []specs.LinuxSeccompArg
	// The entry applies only if the container has at least one of these
	// capabilities (default.json "includes.caps").
	caps []string
	// The entry applies only if the native architecture (Go's GOARCH naming,
	// which default.json uses) is one of these ("includes.arches").
	arches []string
	// The entry is dropped if the container has one of these capabilities
	// ("excludes.caps") or runs on one of these architectures
	// ("excludes.arches").
	notCaps   []string
	notArches []string
}

// dockerArchMap is default.json's "archMap": for a native architecture, the
// architectures whose syscall entry points the filter must also cover.
var dockerArchMap = map[string][]specs.Arch{
	"amd64":    {specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
	"arm64":    {specs.ArchAARCH64, specs.ArchARM},
	"mips64":   {specs.ArchMIPS64, specs.ArchMIPS, specs.ArchMIPS64N32},
	"mips64le": {specs.ArchMIPSEL64, specs.ArchMIPSEL, specs.ArchMIPSEL64N32},
	"s390x":    {specs.ArchS390X, specs.ArchS390},
	"riscv64":  {specs.ArchRISCV64},
	"loong64":  {specs.ArchLOONGARCH64},
}

func argEq(index uint, value uint64) []specs.LinuxSeccompArg {
	return []specs.LinuxSeccompArg{{Index: index, Value: value, Op: specs.OpEqualTo}}
}

// cloneNamespaceFlags is CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS |
// CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET (2114060288 in
// default.json): clone is allowed only when none of them is set.
const cloneNamespaceFlags = 0x7E020000

var dockerSyscalls = []dockerSyscall{
	{
		action: specs.ActAllow,
		names: []string{
			"accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat",
			"capget", "capset", "chdir", "chmod", "chown", "chown32", "clock_adjtime",
			"clock_adjtime64", "clock_getres", "clock_getres_time64", "clock_gettime",
			"clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "close",
			"close_range", "connect", "copy_file_range", "creat", "dup", "dup2", "dup3",
			"epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
			"epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve",
			"execveat", "exit", "exit_group", "faccessat", "faccessat2", "fadvise64",
			"fadvise64_64", "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat",
			"fchmodat2", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync",
			"fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr", "fstat",
			"fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate",
			"ftruncate64", "futex", "futex_requeue", "futex_time64", "futex_wait",
			"futex_waitv", "futex_wake", "futimesat", "getcpu", "getcwd", "getdents",
			"getdents64", "getegid", "getegid32", "geteuid", "geteuid32", "getgid",
			"getgid32", "getgroups", "getgroups32", "getitimer", "getpeername", "getpgid",
			"getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid",
			"getresgid32", "getresuid", "getresuid32", "getrlimit", "get_robust_list",
			"getrusage", "getsid", "getsockname", "getsockopt", "get_thread_area", "gettid",
			"gettimeofday", "getuid", "getuid32", "getxattr", "getxattrat",
			"inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch",
			"io_cancel", "ioctl", "io_destroy", "io_getevents", "io_pgetevents",
			"io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup", "io_submit",
			"ipc", "kill", "landlock_add_rule", "landlock_create_ruleset",
			"landlock_restrict_self", "lchown", "lchown32", "lgetxattr", "link", "linkat",
			"listen", "listmount", "listxattr", "listxattrat", "llistxattr", "_llseek",
			"lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64", "madvise",
			"map_shadow_stack", "membarrier", "memfd_create", "memfd_secret", "mincore",
			"mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap",
			"mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive",
			"mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink",
			"mremap", "mseal", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock",
			"munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat",
			"_newselect", "open", "openat", "openat2", "pause", "pidfd_open",
			"pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free", "pkey_mprotect",
			"poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2",
			"prlimit64", "process_mrelease", "pselect6", "pselect6_time64", "pwrite64",
			"pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv",
			"recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "remap_file_pages",
			"removexattr", "removexattrat", "rename", "renameat", "renameat2",
			"restart_syscall", "riscv_hwprobe", "rmdir", "rseq", "rt_sigaction",
			"rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn",
			"rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64",
			"rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr", "sched_getparam",
			"sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler",
			"sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity",
			"sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp",
			"select", "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send",
			"sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto", "setfsgid",
			"setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups",
			"setgroups32", "setitimer", "setpgid", "setpriority", "setregid", "setregid32",
			"setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32",
			"setrlimit", "set_robust_list", "setsid", "setsockopt", "set_thread_area",
			"set_tid_address", "setuid", "setuid32", "setxattr", "setxattrat", "shmat",
			"shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4",
			"sigprocmask", "sigreturn", "socketcall", "socketpair", "splice", "stat",
			"stat64", "statfs", "statfs64", "statmount", "statx", "symlink", "symlinkat",
			"sync", "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time",
			"timer_create", "timer_delete", "timer_getoverrun", "timer_gettime",
			"timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create",
			"timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64",
			"times", "tkill", "truncate", "truncate64", "ugetrlimit", "umask", "uname",
			"unlink", "unlinkat", "uretprobe", "utime", "utimensat", "utimensat_time64",
			"utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write", "writev",
		},
	},
	// default.json: "includes": {"minKernel": "4.8"}. Before 4.8 seccomp
	// could be bypassed with ptrace; we assume a newer kernel (see doc.go).
	{names: []string{"process_vm_readv", "process_vm_writev", "ptrace"}, action: specs.ActAllow},
	// socket: address families below 12 and an explicit list above; the
	// rest (AF_DECnet 12, AF_VSOCK 40, AF_ALG 38, ...) are refused.
	{names: []string{"socket"}, action: specs.ActAllow,
		args: []specs.LinuxSeccompArg{{Index: 0, Value: 12, Op: specs.OpLessThan}}},
	{names: []string{"socket"}, action: specs.ActAllow, args: argEq(0, 13)},
	{names: []string{"socket"}, action: specs.ActAllow, args: argEq(0, 14)},
	{names: []string{"socket"}, action: specs.ActAllow, args: argEq(0, 15)},
	{names: []string{"socket"}, action: specs.ActAllow, args: argEq(0, 16)},
	{names: []string{"socket"}, action: specs.ActAllow, args: argEq(0, 17)},
	{names: []string{"socket"}, action: specs.ActAllow, args: argEq(0, 18)},
	{names: []string{"socket"}, action: specs.ActAllow, args: argEq(0, 21)},
	{names: []string{"socket"}, action: specs.ActAllow, args: argEq(0, 22)},
	{names: []string{"socket"}, action: specs.ActAllow, args: argEq(0, 24)},
	{names: []string{"socket"}, action: specs.ActAllow, args: argEq(0, 26)},
	{names: []string{"socket"}, action: specs.ActAllow, args: argEq(0, 27)},
	{names: []string{"socket"}, action: specs.ActAllow, args: argEq(0, 28)},
	{names: []string{"socket"}, action: specs.ActAllow, args: argEq(0, 29)},
	{names: []string{"socket"}, action: specs.ActAllow, args: argEq(0, 30)},
	{names: []string{"socket"}, action: specs.ActAllow, args: argEq(0, 31)},
	{names: []string{"socket"}, action: specs.ActAllow, args: argEq(0, 32)},
	{names: []string{"socket"}, action: specs.ActAllow, args: argEq(0, 33)},
	{names: []string{"socket"}, action: specs.ActAllow, args: argEq(0, 35)},
	{names: []string{"socket"}, action: specs.ActAllow, args: argEq(0, 36)},
	{names: []string{"socket"}, action: specs.ActAllow, args: argEq(0, 39)},
	{names: []string{"socket"}, action: specs.ActAllow, args: argEq(0, 41)},
	{names: []string{"socket"}, action: specs.ActAllow, args: argEq(0, 42)},
	{names: []string{"socket"}, action: specs.ActAllow, args: argEq(0, 43)},
	{names: []string{"socket"}, action: specs.ActAllow, args: argEq(0, 44)},
	{names: []string{"socket"}, action: specs.ActAllow, args: argEq(0, 45)},
	// personality: PER_LINUX (0), PER_LINUX32 (8), UNAME26 (0x20000),
	// PER_LINUX32|UNAME26 (0x20008) and the query 0xffffffff.
	{names: []string{"personality"}, action: specs.ActAllow, args: argEq(0, 0)},
	{names: []string{"personality"}, action: specs.ActAllow, args: argEq(0, 8)},
	{names: []string{"personality"}, action: specs.ActAllow, args: argEq(0, 131072)},
	{names: []string{"personality"}, action: specs.ActAllow, args: argEq(0, 131080)},
	{names: []string{"personality"}, action: specs.ActAllow, args: argEq(0, 4294967295)},
	{names: []string{"sync_file_range2", "swapcontext"}, action: specs.ActAllow,
		arches: []string{"ppc64le"}},
	{names: []string{"arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2",
		"breakpoint", "cacheflush", "set_tls"}, action: specs.ActAllow,
		arches: []string{"arm", "arm64"}},
	{names: []string{"arch_prctl"}, action: specs.ActAllow, arches: []string{"amd64", "x32"}},
	{names: []string{"modify_ldt"}, action: specs.ActAllow, arches: []string{"amd64", "x32", "x86"}},
	{names: []string{"s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"},
		action: specs.ActAllow, arches: []string{"s390", "s390x"}},
	{names: []string{"riscv_flush_icache"}, action: specs.ActAllow, arches: []string{"riscv64"}},
	{names: []string{"open_by_handle_at"}, action: specs.ActAllow, caps: []string{"CAP_DAC_READ_SEARCH"}},
	{
		names: []string{
			"bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen",
			"fspick", "lookup_dcookie", "lsm_get_self_attr", "lsm_list_modules",
			"lsm_set_self_attr", "mount", "mount_setattr", "move_mount", "open_tree",
			"perf_event_open", "quotactl", "quotactl_fd", "setdomainname", "sethostname",
			"setns", "syslog", "umount", "umount2", "unshare",
		},
		action: specs.ActAllow,
		caps:   []string{"CAP_SYS_ADMIN"},
	},
	{names: []string{"clone"}, action: specs.ActAllow,
		args:    []specs.LinuxSeccompArg{{Index: 0, Value: cloneNamespaceFlags, Op: specs.OpMaskedEqual}},
		notCaps: []string{"CAP_SYS_ADMIN"}, notArches: []string{"s390", "s390x"}},
	// s390 parameter ordering for clone is different.
	{names: []string{"clone"}, action: specs.ActAllow,
		args:   []specs.LinuxSeccompArg{{Index: 1, Value: cloneNamespaceFlags, Op: specs.OpMaskedEqual}},
		arches: []string{"s390", "s390x"}, notCaps: []string{"CAP_SYS_ADMIN"}},
	// clone3's flags live in a struct the filter cannot read: answer ENOSYS
	// so that libc falls back to clone, whose flags the rule above checks.
	{names: []string{"clone3"}, action: specs.ActErrno, errnoRet: 38, notCaps: []string{"CAP_SYS_ADMIN"}},
	{names: []string{"reboot"}, action: specs.ActAllow, caps: []string{"CAP_SYS_BOOT"}},
	{names: []string{"chroot"}, action: specs.ActAllow, caps: []string{"CAP_SYS_CHROOT"}},
	{names: []string{"delete_module", "init_module", "finit_module"}, action: specs.ActAllow,
		caps: []string{"CAP_SYS_MODULE"}},
	{names: []string{"acct"}, action: specs.ActAllow, caps: []string{"CAP_SYS_PACCT"}},
	{names: []string{"kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv",
		"process_vm_writev", "ptrace"}, action: specs.ActAllow, caps: []string{"CAP_SYS_PTRACE"}},
	{names: []string{"iopl", "ioperm"}, action: specs.ActAllow, caps: []string{"CAP_SYS_RAWIO"}},
	{names: []string{"settimeofday", "stime", "clock_settime", "clock_settime64"},
		action: specs.ActAllow, caps: []string{"CAP_SYS_TIME"}},
	{names: []string{"vhangup"}, action: specs.ActAllow, caps: []string{"CAP_SYS_TTY_CONFIG"}},
	{names: []string{"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"},
		action: specs.ActAllow, caps: []string{"CAP_SYS_NICE"}},
	{names: []string{"syslog"}, action: specs.ActAllow, caps: []string{"CAP_SYSLOG"}},
	{names: []string{"bpf"}, action: specs.ActAllow, caps: []string{"CAP_BPF"}},
	{names: []string{"perf_event_open"}, action: specs.ActAllow, caps: []string{"CAP_PERFMON"}},
}
