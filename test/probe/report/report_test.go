package report

import (
	"encoding/json"
	"testing"
)

// TestJSON pins the field names integration tests rely on.
func TestJSON(t *testing.T) {
	in := `{"pid":1,"ppid":0,"hostname":"h","domainname":"(none)","uid":0,"gid":0,"euid":0,"egid":0,
		"groups":[10],"umask":"0022","cwd":"/","env":["PATH=/bin","A=b=c"],
		"caps":{"bounding":{"hex":"0000000000000021","names":["CAP_CHOWN","CAP_KILL"]},
			"effective":{"hex":"0","names":[]},"permitted":{"hex":"0","names":[]},
			"inheritable":{"hex":"0","names":[]},"ambient":{"hex":"0","names":[]}},
		"noNewPrivs":true,"seccomp":2,"namespaces":{"net":4026531840},
		"mounts":[{"id":1,"parentId":0,"majorMinor":"0:1","root":"/","mountPoint":"/","options":["ro"],
			"propagation":[],"fsType":"overlay","source":"overlay","superOptions":["rw"]}],
		"cgroup":{"lines":["0::/"],"limits":{"/sys/fs/cgroup/pids.max":"10"}},
		"visiblePids":[1],"fds":{"0":"/dev/null"},
		"rlimits":{"RLIMIT_NOFILE":[1024,4096],"RLIMIT_CORE":[18446744073709551615,18446744073709551615]},
		"oomScoreAdj":-500}`
	var r Report
	if err := json.Unmarshal([]byte(in), &r); err != nil {
		t.Fatal(err)
	}
	if !r.Caps.Bounding.Has("CAP_KILL") || r.Caps.Bounding.Mask() != 0x21 {
		t.Errorf("bounding = %+v", r.Caps.Bounding)
	}
	if m, ok := r.Mount("/"); !ok || !m.HasOption("ro") || m.FSType != "overlay" {
		t.Errorf("Mount(/) = %+v, %v", m, ok)
	}
	if v, ok := r.Getenv("A"); !ok || v != "b=c" {
		t.Errorf(`Getenv("A") = %q, %v`, v, ok)
	}
	if _, ok := r.Getenv("B"); ok {
		t.Error(`Getenv("B") found`)
	}
	if l := r.Rlimits["RLIMIT_NOFILE"]; l.Soft() != 1024 || l.Hard() != 4096 {
		t.Errorf("RLIMIT_NOFILE = %v", l)
	}
	if l := r.Rlimits["RLIMIT_CORE"]; l.Soft() != Unlimited || l.Hard() != Unlimited {
		t.Errorf("RLIMIT_CORE = %v, want unlimited", l)
	}
	if r.FDs[0] != "/dev/null" || r.Namespaces["net"] != 4026531840 || !r.NoNewPrivs || r.Seccomp != 2 ||
		r.OOMScoreAdj != -500 || r.Cgroup.Limits["/sys/fs/cgroup/pids.max"] != "10" || r.Umask != "0022" {
		t.Errorf("report = %+v", r)
	}

	// And back: every field name above survives a round trip.
	out, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var a, b map[string]any
	json.Unmarshal([]byte(in), &a)
	json.Unmarshal(out, &b)
	for k := range a {
		if _, ok := b[k]; !ok {
			t.Errorf("field %q lost in a round trip", k)
		}
	}
}
