package runtime

import (
	"encoding/json"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestValidateID(t *testing.T) {
	for _, tt := range []struct {
		id string
		ok bool
	}{
		{"a", true},
		{"web-1_x.y+z", true},
		{"...", true},
		{strings.Repeat("a", 1024), true},
		{"", false},
		{".", false},
		{"..", false},
		{"a/b", false},
		{"../x", false},
		{"a b", false},
		{"a\n", false},
		{"é", false},
		{strings.Repeat("a", 1025), false},
		{strings.Repeat("a", 2000), false},
	} {
		err := ValidateID(tt.id)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateID(%.20q) = %v, want ok=%v", tt.id, err, tt.ok)
		}
	}
}

// baseSpec is the smallest config.json Validate accepts.
func baseSpec() *specs.Spec {
	return &specs.Spec{
		Version: "1.2.1",
		Root:    &specs.Root{Path: "rootfs"},
		Process: &specs.Process{Args: []string{"/bin/sh"}, Cwd: "/"},
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{{Type: specs.MountNamespace}},
		},
	}
}

func TestValidateBase(t *testing.T) {
	if err := Validate(baseSpec()); err != nil {
		t.Fatalf("Validate(base) = %v", err)
	}
}

func TestValidateFull(t *testing.T) {
	adj := -500
	s := baseSpec()
	s.Hostname = "web"
	s.Domainname = "example.org"
	s.Process.Env = []string{"PATH=/bin"}
	s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 4096}}
	s.Process.OOMScoreAdj = &adj
	s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedBatch, Nice: 5, Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagResetOnFork}}
	s.Process.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 7}
	s.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux32}
	s.Mounts = []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc"},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs"},
	}
	s.Linux.Namespaces = []specs.LinuxNamespace{
		{Type: specs.MountNamespace}, {Type: specs.PIDNamespace}, {Type: specs.NetworkNamespace},
		{Type: specs.IPCNamespace}, {Type: specs.UTSNamespace}, {Type: specs.UserNamespace},
		{Type: specs.CgroupNamespace}, {Type: specs.TimeNamespace},
	}
	s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 10}}
	s.Linux.Sysctl = map[string]string{
		"net.ipv4.ip_forward": "1", "kernel.shmmax": "1000", "fs.mqueue.msg_max": "10",
		"kernel.hostname": "web", "kernel.domainname": "example.org", "kernel.msgmax": "8192",
		"kernel.sem": "250 32000 32 128",
	}
	s.Linux.Devices = []specs.LinuxDevice{
		{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229},
		{Path: "/dev/loop0", Type: "b", Major: 7, Minor: 0},
		{Path: "/dev/kmsg", Type: "u", Major: 1, Minor: 11},
		{Path: "/dev/myfifo", Type: "p"},
	}
	if err := Validate(s); err != nil {
		t.Fatalf("Validate(full) = %v", err)
	}
}

func TestValidateJoinedUserNamespace(t *testing.T) {
	// Joining an existing user namespace needs no mappings.
	s := baseSpec()
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace, Path: "/proc/1/ns/user"})
	if err := Validate(s); err != nil {
		t.Fatalf("Validate = %v", err)
	}
}

func TestValidateErrors(t *testing.T) {
	ptr := func(i int) *int { return &i }
	for _, tt := range []struct {
		name   string
		mutate func(s *specs.Spec)
		want   string
	}{
		{"nil process", func(s *specs.Spec) { s.Process = nil }, "process"},
		{"nil linux", func(s *specs.Spec) { s.Linux = nil }, "linux"},
		{"old version", func(s *specs.Spec) { s.Version = "0.9.0" }, "ociVersion"},
		{"empty version", func(s *specs.Spec) { s.Version = "" }, "ociVersion"},
		{"nil root", func(s *specs.Spec) { s.Root = nil }, "root.path"},
		{"empty root", func(s *specs.Spec) { s.Root.Path = "" }, "root.path"},
		{"no args", func(s *specs.Spec) { s.Process.Args = nil }, "process.args"},
		{"empty arg0", func(s *specs.Spec) { s.Process.Args = []string{""} }, "process.args"},
		{"relative cwd", func(s *specs.Spec) { s.Process.Cwd = "tmp" }, "process.cwd"},
		{"empty cwd", func(s *specs.Spec) { s.Process.Cwd = "" }, "process.cwd"},
		{"unknown rlimit", func(s *specs.Spec) {
			s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_BOGUS", Soft: 1, Hard: 1}}
		}, "rlimits"},
		{"rlimit soft above hard", func(s *specs.Spec) {
			s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 2, Hard: 1}}
		}, "rlimits"},
		{"oomScoreAdj high", func(s *specs.Spec) { s.Process.OOMScoreAdj = ptr(1001) }, "oomScoreAdj"},
		{"oomScoreAdj low", func(s *specs.Spec) { s.Process.OOMScoreAdj = ptr(-1001) }, "oomScoreAdj"},
		{"no mount namespace", func(s *specs.Spec) { s.Linux.Namespaces = nil }, "linux.namespaces"},
		{"unknown namespace", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "bogus"})
		}, "linux.namespaces"},
		{"namespace twice", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.MountNamespace})
		}, "linux.namespaces"},
		{"relative namespace path", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: "ns/net"})
		}, "linux.namespaces"},
		{"new userns without mappings", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		}, "uidMappings"},
		{"uid mappings without userns", func(s *specs.Spec) {
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
		}, "uidMappings"},
		{"timeOffsets without timens", func(s *specs.Spec) {
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"boottime": {Secs: 1}}
		}, "timeOffsets"},
		{"timeOffsets with joined timens", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace, Path: "/proc/1/ns/time"})
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"boottime": {Secs: 1}}
		}, "timeOffsets"},
		{"hostname without uts", func(s *specs.Spec) { s.Hostname = "web" }, "hostname"},
		{"relative mount destination", func(s *specs.Spec) {
			s.Mounts = []specs.Mount{{Destination: "proc", Type: "proc"}}
		}, "mounts[0].destination"},
		{"host sysctl", func(s *specs.Spec) { s.Linux.Sysctl = map[string]string{"vm.swappiness": "1"} }, "sysctl"},
		{"net sysctl without netns", func(s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
		}, "sysctl"},
		{"ipc sysctl without ipcns", func(s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{"kernel.shmmax": "1"}
		}, "sysctl"},
		{"hostname sysctl without uts", func(s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{"kernel.hostname": "x"}
		}, "sysctl"},
		{"device type", func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/x", Type: "z"}}
		}, "linux.devices"},
		{"device path", func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "dev/x", Type: "c"}}
		}, "linux.devices"},
		{"scheduler policy", func(s *specs.Spec) {
			s.Process.Scheduler = &specs.Scheduler{Policy: "SCHED_FAST"}
		}, `config.json: process.scheduler: unknown policy "SCHED_FAST"`},
		{"scheduler nice", func(s *specs.Spec) {
			s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedOther, Nice: 20}
		}, "process.scheduler: nice 20 is outside -20..19"},
		{"scheduler fifo priority", func(s *specs.Spec) {
			s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedFIFO}
		}, "process.scheduler: priority 0 is outside 1..99"},
		{"scheduler deadline", func(s *specs.Spec) {
			s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 2e6, Deadline: 1e6}
		}, "process.scheduler: runtime 2000000 ns is above deadline"},
		{"ioPriority class", func(s *specs.Spec) {
			s.Process.IOPriority = &specs.LinuxIOPriority{Class: "IOPRIO_CLASS_NONE"}
		}, `config.json: process.ioPriority: unknown class "IOPRIO_CLASS_NONE"`},
		{"ioPriority level", func(s *specs.Spec) {
			s.Process.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 8}
		}, "process.ioPriority: priority 8 is outside 0..7"},
		{"personality domain", func(s *specs.Spec) {
			s.Linux.Personality = &specs.LinuxPersonality{Domain: "LINUX64"}
		}, `config.json: linux.personality: unknown domain "LINUX64"`},
		{"personality flags", func(s *specs.Spec) {
			s.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux, Flags: []specs.LinuxPersonalityFlag{"ADDR_NO_RANDOMIZE"}}
		}, "linux.personality: flag"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := baseSpec()
			tt.mutate(s)
			err := Validate(s)
			if err == nil {
				t.Fatalf("Validate = nil, want an error naming %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate = %q, want it to name %q", err, tt.want)
			}
		})
	}
}

func TestValidateNil(t *testing.T) {
	if err := Validate(nil); err == nil {
		t.Fatal("Validate(nil) = nil, want an error")
	}
}

// FuzzValidateJSON feeds arbitrary config.json bytes to Validate, which must
// never panic on what json.Unmarshal accepts.
func FuzzValidateJSON(f *testing.F) {
	base, err := json.Marshal(baseSpec())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(base)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"args":["sh"],"cwd":"/"},"linux":{}}`))
	f.Add([]byte(`{"ociVersion":"1.2.1","root":{"path":"r"},"process":{"args":["sh"],"cwd":"/","rlimits":[{"type":"RLIMIT_NOFILE","soft":9,"hard":1}],"oomScoreAdj":5000},` +
		`"mounts":[{"destination":"x"}],"linux":{"namespaces":[{"type":"mount"},{"type":"user","path":"/proc/1/ns/user"},{"type":"time"}],` +
		`"uidMappings":[{"containerID":0,"hostID":1,"size":1}],"timeOffsets":{"monotonic":{"secs":1}},"sysctl":{"net.x":"1"},"devices":[{"path":"/dev/x","type":"u"}]}}`))
	f.Add([]byte(`{"ociVersion":"1.1.0","process":null,"linux":null}`))
	f.Add([]byte(`{"ociVersion":"1.2.1","root":{"path":"r"},"process":{"args":["sh"],"cwd":"/","scheduler":{"policy":"SCHED_DEADLINE","runtime":1,"deadline":9223372036854775808,"period":1},` +
		`"ioPriority":{"class":"IOPRIO_CLASS_RT","priority":-1}},"linux":{"namespaces":[{"type":"mount"}],"personality":{"domain":"LINUX32","flags":[""]}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var s specs.Spec
		if err := json.Unmarshal(data, &s); err != nil {
			return
		}
		_ = Validate(&s)
	})
}
