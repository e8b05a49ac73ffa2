package runtime

import (
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"

	"github.com/nook-containers/nook/internal/runtime/caps"
	"github.com/nook-containers/nook/internal/runtime/seccomp"
)

// mountOptions are the mount options initproc's parser acts on
// (initproc/mountopts.go: mountFlagOptions, propagationOptions,
// recursiveOptions) plus "idmap" and "ridmap" (the runtime makes those
// mounts: idmap_linux.go). "tmpcopyup" is recognised there only to be
// ignored, so it is not claimed. A test compares this list with that file.
var mountOptions = []string{
	// mount(2) flags
	"async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec",
	"iversion", "lazytime", "loud", "mand", "noatime", "nodev", "nodiratime",
	"noexec", "noiversion", "nolazytime", "nomand", "norelatime",
	"nostrictatime", "nosuid", "nosymfollow", "rbind", "relatime", "remount",
	"ro", "rw", "silent", "strictatime", "suid", "symfollow", "sync",
	// propagation
	"private", "rprivate", "shared", "rshared", "slave", "rslave",
	"unbindable", "runbindable",
	// recursive, through mount_setattr(2)
	"rro", "rrw", "rnosuid", "rsuid", "rnodev", "rdev", "rnoexec", "rexec",
	"rnodiratime", "rdiratime", "rnosymfollow", "rsymfollow", "rnoatime",
	"ratime", "rrelatime", "rnorelatime", "rstrictatime", "rnostrictatime",
	// idmapped mounts, through mount_setattr(2) MOUNT_ATTR_IDMAP
	"idmap", "ridmap",
}

// Features describes what this build of nook-runtime implements, as the
// runtime-spec's features.md asks: only what works, not what the kernel
// might offer. Nil fields mean "unknown" there, so everything nook knows
// it lacks is an explicit false.
func Features() *features.Features {
	yes, no := true, false
	seccompBuilt := seccomp.Check(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow}, nil) == nil
	opts := slices.Clone(mountOptions)
	slices.Sort(opts)
	return &features.Features{
		OCIVersionMin: "1.0.0",
		OCIVersionMax: specs.Version,
		Hooks: []string{
			"prestart", "createRuntime", "createContainer", "startContainer",
			"poststart", "poststop",
		},
		MountOptions: opts,
		Linux: &features.Linux{
			Namespaces: []string{
				string(specs.CgroupNamespace), string(specs.IPCNamespace),
				string(specs.MountNamespace), string(specs.NetworkNamespace),
				string(specs.PIDNamespace), string(specs.TimeNamespace),
				string(specs.UserNamespace), string(specs.UTSNamespace),
			},
			Capabilities: caps.All(),
			Cgroup: &features.Cgroup{
				V1: &yes, V2: &yes, Systemd: &yes, SystemdUser: &no, Rdma: &no,
			},
			Seccomp: &features.Seccomp{
				Enabled: &seccompBuilt,
				Actions: []string{
					"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
					"SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP",
				},
				Operators: []string{
					"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
					"SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE",
				},
				Archs: []string{"SCMP_ARCH_X32", "SCMP_ARCH_X86", "SCMP_ARCH_X86_64"},
				KnownFlags: []string{
					"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
					"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
				},
			},
			Apparmor:        &features.Apparmor{Enabled: &no},
			Selinux:         &features.Selinux{Enabled: &no},
			IntelRdt:        &features.IntelRdt{Enabled: &no},
			MountExtensions: &features.MountExtensions{IDMap: &features.IDMap{Enabled: &yes}},
		},
	}
}
