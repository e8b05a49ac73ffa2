package seccomp

import (
	"runtime"
	"slices"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// DockerDefaultCaps is the capability set Docker gives a container by default
// (moby oci/caps/defaults.go). DefaultProfile resolves the capability
// conditions of Docker's profile against this set.
var DockerDefaultCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// DefaultProfile returns a profile equal in effect to Docker's default
// seccomp profile for a container with Docker's default capabilities, on the
// architecture this binary was built for: everything not listed fails with
// EPERM; namespaces, mount, keyctl, bpf, kernel modules, clock setting,
// reboot, ... are refused; clone may not create namespaces; clone3 answers
// ENOSYS. Each call returns a new value the caller may modify.
func DefaultProfile() *specs.LinuxSeccomp {
	return DefaultProfileFor(DockerDefaultCaps)
}

// DefaultProfileFor is DefaultProfile for a container whose bounding set is
// caps (names like "CAP_SYS_ADMIN"), resolving default.json's
// "includes.caps"/"excludes.caps" the way Docker does: with CAP_SYS_ADMIN,
// mount, unshare, setns, clone with namespace flags and clone3 are allowed;
// with CAP_SYS_PTRACE, kcmp and pidfd_getfd; and so on.
func DefaultProfileFor(caps []string) *specs.LinuxSeccomp {
	return dockerProfile(runtime.GOARCH, caps)
}

func dockerProfile(goarch string, caps []string) *specs.LinuxSeccomp {
	errnoRet := uint(1) // EPERM
	p := &specs.LinuxSeccomp{
		DefaultAction:   specs.ActErrno,
		DefaultErrnoRet: &errnoRet,
		Architectures:   slices.Clone(dockerArchMap[goarch]),
	}
	hasAny := func(want []string) bool {
		return slices.ContainsFunc(want, func(c string) bool { return slices.Contains(caps, c) })
	}
	for _, e := range dockerSyscalls {
		if len(e.caps) > 0 && !hasAny(e.caps) {
			continue
		}
		if len(e.arches) > 0 && !slices.Contains(e.arches, goarch) {
			continue
		}
		if hasAny(e.notCaps) || slices.Contains(e.notArches, goarch) {
			continue
		}
		s := specs.LinuxSyscall{
			Names:  slices.Clone(e.names),
			Action: e.action,
			Args:   slices.Clone(e.args),
		}
		if e.errnoRet != 0 {
			v := e.errnoRet
			s.ErrnoRet = &v
		}
		p.Syscalls = append(p.Syscalls, s)
	}
	return p
}
