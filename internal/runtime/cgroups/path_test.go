package cgroups

import (
	"errors"
	"maps"
	"strings"
	"testing"
)

func TestParsePath(t *testing.T) {
	for _, tc := range []struct {
		in, id  string
		want    cgroupPath
		wantErr string
	}{
		{"", "web", cgroupPath{rel: "/nook/web", isDefault: true}, ""},
		{"/nook/web", "web", cgroupPath{rel: "/nook/web", isDefault: true}, ""},
		{"/nook/other", "web", cgroupPath{rel: "/nook/other"}, ""},
		{"nook/web", "web", cgroupPath{rel: "/nook/web", relative: true}, ""},
		{"", "a/b", cgroupPath{}, "cannot name a cgroup"},
		{"", "..", cgroupPath{}, "cannot name a cgroup"},
		{"/machine/web", "web", cgroupPath{rel: "/machine/web"}, ""},
		{"/a/../../etc//x/", "web", cgroupPath{rel: "/etc/x"}, ""},
		{"sub/web", "web", cgroupPath{rel: "/sub/web", relative: true}, ""},
		{"/", "web", cgroupPath{}, "names the root cgroup"},
		{"a/..", "web", cgroupPath{}, "names the root cgroup"},
		{"system.slice:nook:web", "web", cgroupPath{}, "use --systemd-cgroup"},
	} {
		got, err := parsePath(tc.in, tc.id)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parsePath(%q, %q) err = %v, want %q", tc.in, tc.id, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got.rel != tc.want.rel || got.relative != tc.want.relative || got.isDefault != tc.want.isDefault {
			t.Errorf("parsePath(%q, %q) = %+v, %v; want %+v", tc.in, tc.id, got, err, tc.want)
		}
	}
	if _, err := NewAt(t.TempDir(), Unified, "a.slice:nook:x", "x", nil); !errors.Is(err, ErrSystemdPath) {
		t.Errorf("NewAt with a systemd path: err = %v, want ErrSystemdPath", err)
	}
}

func TestParseProcCgroup(t *testing.T) {
	hybrid := `12:cpu,cpuacct:/user.slice
4:memory:/process_api/027b
9:name=systemd:/
0::/user.slice/session-1.scope
`
	for _, tc := range []struct {
		name, in string
		want     map[string]string
		wantErr  bool
	}{
		{"hybrid", hybrid, map[string]string{"cpu": "/user.slice", "cpuacct": "/user.slice",
			"memory": "/process_api/027b", "name=systemd": "/", "": "/user.slice/session-1.scope"}, false},
		{"v2", "0::/\n", map[string]string{"": "/"}, false},
		{"colon in path", "0::/a:b\n", map[string]string{"": "/a:b"}, false},
		{"no trailing newline", "3:pids:/x", map[string]string{"pids": "/x"}, false},
		{"empty", "", map[string]string{}, false},
		{"too few fields", "0:/\n", nil, true},
		{"relative path", "0::x\n", nil, true},
	} {
		got, err := parseProcCgroup(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: err = %v, want error %v", tc.name, err, tc.wantErr)
			continue
		}
		if !tc.wantErr && !maps.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestRelativePath(t *testing.T) {
	p := cgroupPath{rel: "/web", relative: true, self: map[string]string{"memory": "/process_api/x", "": "/user.slice"}}
	for key, want := range map[string]string{"memory": "/process_api/x/web", "": "/user.slice/web", "pids": "/web"} {
		if got := p.under(key); got != want {
			t.Errorf("under(%q) = %q, want %q", key, got, want)
		}
	}
	if got := newV2("/cg", p, nil).Paths()[""]; got != "/cg/user.slice/web" {
		t.Errorf("v2 relative path = %q", got)
	}
}

// FuzzParseProcCgroup checks that any input is parsed or refused without
// panicking, and that every path it returns is absolute.
func FuzzParseProcCgroup(f *testing.F) {
	f.Add("12:cpu,cpuacct:/user.slice\n0::/\n")
	f.Add("0::/a:b:c\n\n4:memory:/x\n")
	f.Add("1:,,:/\n")
	f.Fuzz(func(t *testing.T, in string) {
		m, err := parseProcCgroup(in)
		if err != nil {
			return
		}
		for k, v := range m {
			if !strings.HasPrefix(v, "/") {
				t.Errorf("key %q: path %q is not absolute", k, v)
			}
			if strings.Contains(k, ",") {
				t.Errorf("key %q holds a comma", k)
			}
		}
	})
}

// FuzzParsePath checks that a cgroupsPath can never lead out of the
// hierarchy root.
func FuzzParsePath(f *testing.F) {
	f.Add("/a/../../b", "id")
	f.Add("../x", "id")
	f.Add("", "..")
	f.Fuzz(func(t *testing.T, in, id string) {
		p, err := parsePath(in, id)
		if err != nil {
			return
		}
		if !strings.HasPrefix(p.rel, "/") || p.rel == "/" {
			t.Errorf("parsePath(%q, %q).rel = %q", in, id, p.rel)
		}
		for _, seg := range strings.Split(p.rel, "/") {
			if seg == ".." || seg == "." {
				t.Errorf("parsePath(%q, %q).rel = %q holds %q", in, id, p.rel, seg)
			}
		}
	})
}
