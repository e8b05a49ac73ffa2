package initproc

import (
	"encoding/json"

	"golang.org/x/sys/unix"
)

// warmDecoder decodes a sample bootstrap if the real one has not arrived
// yet. encoding/json builds its tables for a struct type the first time it
// decodes one; for the ~30 types of a spec that costs about a millisecond
// (and the decoder's first page faults), on the start path. Where init
// waits anyway, that millisecond is free: on cgroup v1 the parent first
// moves init into its cgroups, waiting out an RCU grace period (see
// cgroups.WarmAttach). Where the bootstrap is already there (init cloned
// into its cgroup on v2), the warm-up would only delay it, so none.
func warmDecoder(sync int) {
	p := []unix.PollFd{{Fd: int32(sync), Events: unix.POLLIN}}
	if n, err := unix.Poll(p, 0); n != 0 || err != nil {
		return
	}
	var m Message
	_ = json.Unmarshal([]byte(sampleBootstrap), &m)
}

// sampleBootstrap has one of each struct type a bootstrap usually holds
// (TestSampleBootstrap decodes it strictly, so a renamed field fails).
const sampleBootstrap = `{"type":"bootstrap","bootstrap":{"id":"x","bundle":"/b","rootfs":"/b/r",
"spec":{"ociVersion":"1.2.1","process":{"terminal":true,"consoleSize":{"height":1,"width":1},
"user":{"uid":1,"gid":1,"umask":18,"additionalGids":[2]},"args":["sh"],"env":["A=b"],"cwd":"/",
"capabilities":{"bounding":["CAP_KILL"],"effective":["CAP_KILL"],"permitted":["CAP_KILL"],
"inheritable":["CAP_KILL"],"ambient":["CAP_KILL"]},"rlimits":[{"type":"RLIMIT_NOFILE","hard":1,"soft":1}],
"noNewPrivileges":true,"oomScoreAdj":0,"apparmorProfile":"p","selinuxLabel":"l"},
"root":{"path":"r","readonly":true},"hostname":"h","domainname":"d",
"mounts":[{"destination":"/d","type":"bind","source":"/s","options":["rbind"],
"uidMappings":[{"containerID":0,"hostID":1,"size":1}],"gidMappings":[{"containerID":0,"hostID":1,"size":1}]}],
"hooks":{"prestart":[{"path":"/h","args":["h"],"env":["A=b"],"timeout":1}],"createRuntime":[{"path":"/h"}],
"createContainer":[{"path":"/h"}],"startContainer":[{"path":"/h"}],"poststart":[{"path":"/h"}],"poststop":[{"path":"/h"}]},
"annotations":{"a":"b"},
"linux":{"uidMappings":[{"containerID":0,"hostID":1,"size":1}],"gidMappings":[{"containerID":0,"hostID":1,"size":1}],
"sysctl":{"a":"b"},"resources":{"devices":[{"allow":true,"type":"c","major":1,"minor":3,"access":"rwm"}],
"memory":{"limit":1,"swap":1},"cpu":{"shares":1,"quota":1,"period":1,"cpus":"0","mems":"0"},"pids":{"limit":1},
"blockIO":{"weight":1},"hugepageLimits":[{"pageSize":"2MB","limit":1}],"unified":{"a":"b"}},
"cgroupsPath":"/c","namespaces":[{"type":"pid","path":"/p"}],
"devices":[{"path":"/dev/x","type":"c","major":1,"minor":3,"fileMode":438,"uid":0,"gid":0}],
"rootfsPropagation":"private","maskedPaths":["/m"],"readonlyPaths":["/r"],"mountLabel":"l",
"personality":{"domain":"LINUX"},"timeOffsets":{"monotonic":{"secs":1,"nanosecs":1}}}},
"seccompProgram":{"bpf":"AAAAAAAAAAA=","flags":1},"cgroupPaths":{"":"/c"},"cgroup2":true,"newUserNS":false,
"idmapFds":{"0":3},"state":{"ociVersion":"1.2.1","id":"x","status":"creating","pid":1,"bundle":"/b","annotations":{"a":"b"}},
"debug":false}}`
