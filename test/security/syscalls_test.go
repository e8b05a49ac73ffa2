package security

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// syscallAttack is one kernel interface the default profile keeps out of a
// container: the escape helper subcommand that tries it, and what every
// step must answer inside.
type syscallAttack struct {
	cmd string
	// step -> the errno name the step must fail with inside.
	want map[string]string
	// system calls the container's seccomp profile must not allow
	// unconditionally (so that its default action, EPERM, applies).
	blocked []string
}

// The expectations follow Docker's default profile (profile_data.go):
// keyctl, add_key, request_key, userfaultfd and io_uring_* are in none of
// its rules (recent moby dropped io_uring from the allow list), so the
// default action answers EPERM; bpf and perf_event_open are allowed only
// with CAP_SYS_ADMIN, CAP_BPF or CAP_PERFMON, which neither capability set
// has; unshare needs CAP_SYS_ADMIN; clone may not carry namespace flags;
// clone3 answers ENOSYS (so that libc falls back to clone, whose flags the
// filter can read).
var syscallAttacks = []syscallAttack{
	{cmd: "keyring", blocked: []string{"keyctl", "add_key", "request_key"}, want: map[string]string{
		"add_key": "EPERM", "request_key": "EPERM", "keyctl-get-keyring-id": "EPERM", "keyctl-join-session": "EPERM"}},
	{cmd: "userns", blocked: []string{"unshare", "setns"}, want: map[string]string{
		"unshare-userns": "EPERM", "clone-userns": "EPERM", "clone3-userns": "ENOSYS", "unshare-mountns": "EPERM"}},
	{cmd: "bpf", blocked: []string{"bpf"}, want: map[string]string{
		"bpf-map-create": "EPERM", "bpf-prog-load": "EPERM"}},
	{cmd: "perf", blocked: []string{"perf_event_open"}, want: map[string]string{
		"perf-self": "EPERM", "perf-cpu0": "EPERM"}},
	{cmd: "userfaultfd", blocked: []string{"userfaultfd"}, want: map[string]string{
		"userfaultfd": "EPERM", "userfaultfd-user-mode": "EPERM"}},
	{cmd: "iouring", blocked: []string{"io_uring_setup", "io_uring_enter", "io_uring_register"}, want: map[string]string{
		"io_uring_setup": "EPERM", "io_uring_enter": "EPERM", "io_uring_register": "EPERM"}},
	// personality is conditional: the profile allows exactly PER_LINUX,
	// PER_LINUX32, UNAME26, PER_LINUX32|UNAME26 and the query; anything
	// else (ADDR_NO_RANDOMIZE, which turns off ASLR, READ_IMPLIES_EXEC)
	// is EPERM. "" means the step must succeed.
	{cmd: "personality", want: map[string]string{
		"personality-query": "", "personality-linux32": "",
		"personality-addr-no-randomize": "EPERM", "personality-linux32-addr-no-randomize": "EPERM",
		"personality-read-implies-exec": "EPERM"}},
}

// stepErrno returns what the escape helper printed for step: "" for OK,
// the errno name for ERRNO, and false if it printed nothing for it.
func stepErrno(out, step string) (string, bool) {
	for _, l := range strings.Split(out, "\n") {
		if l == "OK:"+step {
			return "", true
		}
		if v, ok := strings.CutPrefix(l, "ERRNO:"+step+":"); ok {
			return v, true
		}
	}
	return "", false
}

// allowedBy lists the rules of p that would let name through (ActAllow),
// and the arg-0 values they are conditioned on (none: unconditional).
func allowedBy(p *specs.LinuxSeccomp, name string) (unconditional bool, arg0 []uint64) {
	for _, s := range p.Syscalls {
		if s.Action != specs.ActAllow || !slices.Contains(s.Names, name) {
			continue
		}
		if len(s.Args) == 0 {
			return true, nil
		}
		if len(s.Args) == 1 && s.Args[0].Index == 0 && s.Args[0].Op == specs.OpEqualTo {
			arg0 = append(arg0, s.Args[0].Value)
		} else {
			return true, nil // a condition this check does not model: count it as open
		}
	}
	return false, arg0
}

// TestBlockedSyscalls makes, from inside, the system calls behind most
// recent container escapes and kernel exploits: keyctl/add_key/request_key
// (the kernel keyring is not namespaced), bpf (verifier bugs), perf_event_open,
// userfaultfd (the usual tool to win kernel races), io_uring (a large,
// frequently exploited attack surface), personality flags that turn off
// ASLR, and unshare/clone/clone3 of a user namespace (which would hand back
// a full capability set). Each step must fail with the errno the profile
// gives. The same helper first runs on the host, as root and without
// seccomp, as a positive control: there the steps succeed, so a refusal
// inside is the sandbox's doing and not a missing kernel feature.
func TestBlockedSyscalls(t *testing.T) {
	needRoot(t)
	escapeBin := os.Getenv("NOOK_ESCAPE")
	var cmds []string
	for _, a := range syscallAttacks {
		cmds = append(cmds, "/escape "+a.cmd)
	}
	if escapeBin != "" {
		for _, a := range syscallAttacks {
			out, _ := exec.Command(escapeBin, a.cmd).CombinedOutput()
			t.Logf("host control, escape %s:\n%s", a.cmd, strings.TrimSpace(string(out)))
		}
	}
	variants(t, func(t *testing.T, e *env) {
		r := e.sh(strings.Join(cmds, "; ") + "; cat /proc/self/status | grep -E '^(Seccomp|NoNewPrivs|CapEff):'").run()
		t.Logf("container: %s", r)
		if !strings.Contains(r.stdout, "Seccomp:\t2") {
			t.Errorf("the container's process is not in seccomp filter mode: %s", r.stdout)
		}
		for _, a := range syscallAttacks {
			t.Run(a.cmd, func(t *testing.T) {
				for _, name := range a.blocked {
					if open, _ := allowedBy(e.spec.Linux.Seccomp, name); open {
						t.Errorf("the profile allows %s: the expectations below are stale", name)
					}
				}
				steps := make([]string, 0, len(a.want))
				for s := range a.want {
					steps = append(steps, s)
				}
				slices.Sort(steps)
				for _, step := range steps {
					want := a.want[step]
					got, ok := stepErrno(r.stdout, step)
					switch {
					case !ok:
						t.Errorf("escape %s printed nothing for %s", a.cmd, step)
					case want != "" && got == "":
						t.Errorf("HOLE: %s worked from inside (want %s)", step, want)
					case got != want:
						t.Errorf("%s: got %q, want %q", step, or(got, "OK"), or(want, "OK"))
					}
				}
			})
		}
		if strings.Contains(readFile(t, "/proc/keys"), "nook-sec-key") {
			t.Errorf("HOLE: the key added from inside is in the host's /proc/keys")
		}
	})
	t.Run("personality-profile", func(t *testing.T) {
		// What the personality expectations rest on.
		e := newEnv(t)
		_, vals := allowedBy(e.spec.Linux.Seccomp, "personality")
		want := []uint64{0, 8, 0x20000, 0x20008, 0xffffffff}
		slices.Sort(vals)
		if !slices.Equal(vals, want) {
			t.Errorf("personality is allowed for %#x, the test expects %#x", vals, want)
		}
	})
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
