package caps

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestMain doubles as the helper process for TestApply: capabilities belong
// to a thread, so each case runs Apply in a fresh copy of the test binary
// (CAPS_HELPER=1) on a locked thread and prints that thread's sets.
func TestMain(m *testing.M) {
	if os.Getenv("CAPS_HELPER") == "1" {
		os.Exit(helper())
	}
	os.Exit(m.Run())
}

// helper applies the spec in $CAPS_SPEC (JSON; "null" for nil), optionally
// after switching this thread to uid and gid $CAPS_UID with PR_SET_KEEPCAPS,
// then prints the Cap* lines of /proc/thread-self/status.
func helper() int {
	runtime.LockOSThread()
	var c *specs.LinuxCapabilities
	if err := json.Unmarshal([]byte(os.Getenv("CAPS_SPEC")), &c); err != nil {
		fmt.Fprintln(os.Stderr, "decoding CAPS_SPEC:", err)
		return 2
	}
	if s := os.Getenv("CAPS_UID"); s != "" {
		id, _ := strconv.Atoi(s)
		if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
			fmt.Fprintln(os.Stderr, "setting keepcaps:", err)
			return 2
		}
		// Raw syscalls so that only this thread changes, as in init.
		if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(id), uintptr(id), uintptr(id)); e != 0 {
			fmt.Fprintln(os.Stderr, "setresgid:", e)
			return 2
		}
		if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(id), uintptr(id), uintptr(id)); e != 0 {
			fmt.Fprintln(os.Stderr, "setresuid:", e)
			return 2
		}
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if err := Apply(c, log); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	status, err := os.ReadFile("/proc/thread-self/status")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	for line := range strings.Lines(string(status)) {
		if strings.HasPrefix(line, "Cap") {
			fmt.Print(line)
		}
	}
	return 0
}

func TestApply(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	small := &specs.LinuxCapabilities{
		Bounding:    []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"},
		Effective:   []string{"CAP_CHOWN"},
		Permitted:   []string{"CAP_CHOWN", "CAP_KILL"},
		Inheritable: []string{"CAP_KILL"},
		Ambient:     []string{"CAP_KILL"},
	}
	def := DefaultNames()
	docker := &specs.LinuxCapabilities{Bounding: def, Effective: def, Permitted: def}
	tests := []struct {
		name string
		spec *specs.LinuxCapabilities
		uid  string
		want map[string]uint64
	}{
		{"small", small, "", map[string]uint64{
			"CapBnd": 0x421, "CapEff": 0x1, "CapPrm": 0x21, "CapInh": 0x20, "CapAmb": 0x20}},
		{"nil drops all", nil, "", map[string]uint64{
			"CapBnd": 0, "CapEff": 0, "CapPrm": 0, "CapInh": 0, "CapAmb": 0}},
		{"empty drops all", &specs.LinuxCapabilities{}, "", map[string]uint64{
			"CapBnd": 0, "CapEff": 0, "CapPrm": 0, "CapInh": 0, "CapAmb": 0}},
		{"docker default", docker, "", map[string]uint64{
			"CapBnd": 0xa80425fb, "CapEff": 0xa80425fb, "CapPrm": 0xa80425fb, "CapInh": 0, "CapAmb": 0}},
		{"after setuid with keepcaps", small, "65534", map[string]uint64{
			"CapBnd": 0x421, "CapEff": 0x1, "CapPrm": 0x21, "CapInh": 0x20, "CapAmb": 0x20}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, stderr, err := runHelper(t, tt.spec, tt.uid)
			if err != nil {
				t.Fatalf("helper: %v\n%s", err, stderr)
			}
			got := parseStatusCaps(t, out)
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %#x, want %#x", k, got[k], v)
				}
			}
			if !strings.Contains(stderr, "set=bounding") {
				t.Errorf("no debug trace of the bounding set in:\n%s", stderr)
			}
		})
	}
}

func TestApplyUnknownName(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	_, stderr, err := runHelper(t, &specs.LinuxCapabilities{Bounding: []string{"CAP_CHOWN", "CAP_FOO"}}, "")
	if err == nil {
		t.Fatal("helper succeeded, want an error")
	}
	if !strings.Contains(stderr, `unknown capability "CAP_FOO"`) {
		t.Errorf("stderr = %q, want it to name CAP_FOO", stderr)
	}
}

func runHelper(t *testing.T, spec *specs.LinuxCapabilities, uid string) (stdout, stderr string, err error) {
	t.Helper()
	js, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CAPS_HELPER=1", "CAPS_SPEC="+string(js), "CAPS_UID="+uid)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

func parseStatusCaps(t *testing.T, out string) map[string]uint64 {
	t.Helper()
	got := map[string]uint64{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if err != nil {
			t.Fatalf("parsing %q: %v", sc.Text(), err)
		}
		got[k] = n
	}
	return got
}
