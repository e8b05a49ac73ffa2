package caps

import (
	"errors"
	"fmt"
	"math/bits"
	"os"
	"strconv"
	"strings"
)

// ErrUnknown is returned (wrapped) by Parse and Mask for a name that is not a
// Linux capability.
var ErrUnknown = errors.New("unknown capability")

// names lists every capability this package knows, indexed by number
// (include/uapi/linux/capability.h).
var names = [...]string{
	0:  "CAP_CHOWN",
	1:  "CAP_DAC_OVERRIDE",
	2:  "CAP_DAC_READ_SEARCH",
	3:  "CAP_FOWNER",
	4:  "CAP_FSETID",
	5:  "CAP_KILL",
	6:  "CAP_SETGID",
	7:  "CAP_SETUID",
	8:  "CAP_SETPCAP",
	9:  "CAP_LINUX_IMMUTABLE",
	10: "CAP_NET_BIND_SERVICE",
	11: "CAP_NET_BROADCAST",
	12: "CAP_NET_ADMIN",
	13: "CAP_NET_RAW",
	14: "CAP_IPC_LOCK",
	15: "CAP_IPC_OWNER",
	16: "CAP_SYS_MODULE",
	17: "CAP_SYS_RAWIO",
	18: "CAP_SYS_CHROOT",
	19: "CAP_SYS_PTRACE",
	20: "CAP_SYS_PACCT",
	21: "CAP_SYS_ADMIN",
	22: "CAP_SYS_BOOT",
	23: "CAP_SYS_NICE",
	24: "CAP_SYS_RESOURCE",
	25: "CAP_SYS_TIME",
	26: "CAP_SYS_TTY_CONFIG",
	27: "CAP_MKNOD",
	28: "CAP_LEASE",
	29: "CAP_AUDIT_WRITE",
	30: "CAP_AUDIT_CONTROL",
	31: "CAP_SETFCAP",
	32: "CAP_MAC_OVERRIDE",
	33: "CAP_MAC_ADMIN",
	34: "CAP_SYSLOG",
	35: "CAP_WAKE_ALARM",
	36: "CAP_BLOCK_SUSPEND",
	37: "CAP_AUDIT_READ",
	38: "CAP_PERFMON",
	39: "CAP_BPF",
	40: "CAP_CHECKPOINT_RESTORE",
}

// Last is the highest capability number this package knows.
const Last = len(names) - 1

// All returns every known capability name, in number order.
func All() []string {
	return append([]string(nil), names[:]...)
}

// DefaultNames returns Docker's default capability set, the 14 capabilities
// a container gets unless told otherwise.
func DefaultNames() []string {
	return []string{
		"CAP_CHOWN",
		"CAP_DAC_OVERRIDE",
		"CAP_FSETID",
		"CAP_FOWNER",
		"CAP_MKNOD",
		"CAP_NET_RAW",
		"CAP_SETGID",
		"CAP_SETUID",
		"CAP_SETFCAP",
		"CAP_SETPCAP",
		"CAP_NET_BIND_SERVICE",
		"CAP_SYS_CHROOT",
		"CAP_KILL",
		"CAP_AUDIT_WRITE",
	}
}

// Parse returns the number of the capability called name, as spelled in
// an OCI spec ("CAP_CHOWN"). The match is exact: OCI names are upper case and
// carry the CAP_ prefix.
func Parse(name string) (int, error) {
	for i, n := range names {
		if n == name {
			return i, nil
		}
	}
	return 0, fmt.Errorf("%w %q", ErrUnknown, name)
}

// Mask returns the bit mask (bit n set for capability n) of the named
// capabilities. Duplicates are harmless; the first unknown name is an error.
func Mask(list []string) (uint64, error) {
	var m uint64
	for _, name := range list {
		n, err := Parse(name)
		if err != nil {
			return 0, err
		}
		m |= 1 << n
	}
	return m, nil
}

// Names returns the names of the capabilities whose bits are set in mask, in
// number order. A set bit this package has no name for is shown as "CAP_<n>"
// (e.g. "CAP_41"), so that nothing in the mask goes unreported; Parse rejects
// such names.
func Names(mask uint64) []string {
	list := make([]string, 0, bits.OnesCount64(mask))
	for n := 0; n < 64; n++ {
		if mask&(1<<n) == 0 {
			continue
		}
		if n <= Last {
			list = append(list, names[n])
		} else {
			list = append(list, "CAP_"+strconv.Itoa(n))
		}
	}
	return list
}

// Unavailable returns the names in list that this package knows but whose
// number is above lastCap, the running kernel's last capability (LastCap).
// Unknown names are not reported here; Parse reports them.
func Unavailable(list []string, lastCap int) []string {
	var out []string
	for _, name := range list {
		if n, err := Parse(name); err == nil && n > lastCap {
			out = append(out, name)
		}
	}
	return out
}

// LastCap returns the number of the highest capability the running kernel
// supports, from /proc/sys/kernel/cap_last_cap.
func LastCap() (int, error) {
	const path = "/proc/sys/kernel/cap_last_cap"
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("reading the kernel's last capability: %w", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n < 0 || n > 63 {
		return 0, fmt.Errorf("reading the kernel's last capability: %s holds %q", path, b)
	}
	return n, nil
}
