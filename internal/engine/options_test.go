package engine

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseMemory(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		err  bool
	}{
		{"", 0, false}, {"256m", 256 << 20, false}, {"1g", 1 << 30, false}, {"1048576", 1 << 20, false},
		{"12q", 0, true}, {"-5m", 0, true}, {"m", 0, true},
	} {
		got, err := ParseMemory("--memory", tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseMemory(%q) = %d, %v; want %d, err %v", tc.in, got, err, tc.want, tc.err)
		}
		if err != nil && !strings.Contains(err.Error(), "--memory") {
			t.Errorf("error %q does not name the flag", err)
		}
	}
	if n, err := ParseMemory("--memory-swap", "-1"); err != nil || n != -1 {
		t.Errorf("--memory-swap -1 = %d, %v", n, err)
	}
}

func TestParseCPUs(t *testing.T) {
	for in, want := range map[string]int64{"0.5": 5e8, "2": 2e9, "": 0, "1.25": 1.25e9} {
		if got, err := ParseCPUs(in); err != nil || got != want {
			t.Errorf("ParseCPUs(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"x", "-1", "NaN", "Inf"} {
		if _, err := ParseCPUs(bad); err == nil {
			t.Errorf("ParseCPUs(%q) accepted", bad)
		}
	}
}

func TestParseRestart(t *testing.T) {
	for in, want := range map[string]RestartPolicy{
		"": {Name: "no"}, "no": {Name: "no"}, "always": {Name: "always"}, "unless-stopped": {Name: "unless-stopped"},
		"on-failure": {Name: "on-failure"}, "on-failure:3": {Name: "on-failure", MaximumRetryCount: 3},
	} {
		if got, err := ParseRestart(in); err != nil || got != want {
			t.Errorf("ParseRestart(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"sometimes", "always:2", "on-failure:x", "on-failure:-1", "no:1"} {
		if _, err := ParseRestart(bad); err == nil {
			t.Errorf("ParseRestart(%q) accepted", bad)
		}
	}
}

func TestParseUlimit(t *testing.T) {
	if u, err := ParseUlimit("nofile=1024:2048"); err != nil || u != (Ulimit{"nofile", 1024, 2048}) {
		t.Errorf("got %+v, %v", u, err)
	}
	if u, err := ParseUlimit("nproc=100"); err != nil || u != (Ulimit{"nproc", 100, 100}) {
		t.Errorf("got %+v, %v", u, err)
	}
	for _, bad := range []string{"nofile", "bogus=1", "nofile=2:1", "nofile=a"} {
		if _, err := ParseUlimit(bad); err == nil {
			t.Errorf("ParseUlimit(%q) accepted", bad)
		}
	}
}

func TestParseLogOpts(t *testing.T) {
	lc, err := ParseLogOpts([]string{"max-size=1k", "max-file=2"})
	if err != nil || lc.Config["max-size"] != "1k" || lc.Config["max-file"] != "2" {
		t.Fatalf("got %+v, %v", lc, err)
	}
	for _, bad := range []string{"max-size=0", "max-file=0", "color=red", "max-size"} {
		if _, err := ParseLogOpts([]string{bad}); err == nil {
			t.Errorf("ParseLogOpts(%q) accepted", bad)
		}
	}
}

func TestReadEnvFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "env")
	os.WriteFile(path, []byte("# comment\nA=1\n\n  B=two words\nNOOK_TEST_FROM_HOST\nNOOK_TEST_UNSET\n"), 0o644)
	t.Setenv("NOOK_TEST_FROM_HOST", "h")
	got, err := ReadEnvFile(path)
	want := []string{"A=1", "B=two words", "NOOK_TEST_FROM_HOST=h"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, %v; want %q", got, err, want)
	}
	os.WriteFile(path, []byte("BAD NAME=1\n"), 0o644)
	if _, err := ReadEnvFile(path); err == nil {
		t.Error("a name with a space was accepted")
	}
}

func TestParseVolume(t *testing.T) {
	for in, want := range map[string]Mount{
		"/host:/data":     {Type: "bind", Source: "/host", Destination: "/data", RW: true},
		"/host:/data:ro":  {Type: "bind", Source: "/host", Destination: "/data", Mode: "ro"},
		"vol1:/data":      {Type: "volume", Name: "vol1", Destination: "/data", RW: true},
		"/data":           {Type: "volume", Destination: "/data", RW: true},
		"vol.x-1:/d/../e": {Type: "volume", Name: "vol.x-1", Destination: "/e", RW: true},
	} {
		got, err := parseVolume(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("parseVolume(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"vol:data", "../x:/d", "/a:/b:bogus", "a:b:c:d"} {
		if _, err := parseVolume(bad); err == nil {
			t.Errorf("parseVolume(%q) accepted", bad)
		}
	}
}

func TestParseMounts(t *testing.T) {
	dir := t.TempDir()
	ms, err := parseMounts(nil, []string{"type=bind,source=" + dir + ",target=/mnt,readonly", "type=tmpfs,target=/run,tmpfs-size=1m"}, []string{"/tmp:size=2m"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 || ms[0].RW || ms[0].Source != dir || ms[1].Type != "tmpfs" || ms[1].Options[0] != "size=1m" || ms[2].Options[0] != "size=2m" {
		t.Errorf("got %+v", ms)
	}
	if _, err := parseMounts([]string{"v:/a"}, nil, []string{"/a"}); err == nil || !strings.Contains(err.Error(), "duplicate") {
		t.Errorf("duplicate destination: %v", err)
	}
	if _, err := parseMounts(nil, []string{"type=bind,source=/no/such/dir,target=/x"}, nil); err == nil {
		t.Error("missing bind source accepted by --mount")
	}
}

func TestCapabilities(t *testing.T) {
	got := capabilities(&HostConfig{CapDrop: []string{"net_raw", "CAP_MKNOD"}, CapAdd: []string{"SYS_ADMIN"}})
	has := func(c string) bool {
		for _, x := range got {
			if x == c {
				return true
			}
		}
		return false
	}
	if has("CAP_NET_RAW") || has("CAP_MKNOD") || !has("CAP_SYS_ADMIN") || !has("CAP_CHOWN") || len(got) != 13 {
		t.Errorf("got %v", got)
	}
	if got := capabilities(&HostConfig{CapDrop: []string{"ALL"}, CapAdd: []string{"chown"}}); !reflect.DeepEqual(got, []string{"CAP_CHOWN"}) {
		t.Errorf("drop ALL add chown = %v", got)
	}
	if err := validateCaps(&HostConfig{CapAdd: []string{"CAP_BOGUS"}}); err == nil {
		t.Error("unknown capability accepted")
	}
}

func TestMergeEnv(t *testing.T) {
	got := mergeEnv([]string{"PATH=/bin", "A=1"}, []string{"A=2", "B=3"})
	if want := []string{"PATH=/bin", "A=2", "B=3"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q", got)
	}
}
