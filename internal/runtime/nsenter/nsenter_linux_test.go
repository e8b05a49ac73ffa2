//go:build cgo

package nsenter

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// reportEnv makes a re-executed test binary (already through the constructor)
// write a report of where it landed to fd 4 and exit, instead of running tests.
const reportEnv = "NOOK_TEST_NSENTER_REPORT"

func TestMain(m *testing.M) {
	if os.Getenv(reportEnv) != "" {
		os.Exit(writeReport(os.NewFile(4, "report")))
	}
	os.Exit(m.Run())
}

// report is what the re-executed binary sees once the Go runtime runs.
type report struct {
	User, Net, UTS, Time uint64 // namespace inodes
	UID, PID             int
	Env                  []string // _NOOK_NSENTER_* left in the environment
}

func writeReport(w *os.File) int {
	r := report{User: nsInode("self", "user"), Net: nsInode("self", "net"), UTS: nsInode("self", "uts"),
		Time: nsInode("self", "time"), UID: os.Getuid(), PID: os.Getpid()}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "_NOOK_NSENTER_") {
			r.Env = append(r.Env, kv)
		}
	}
	if err := json.NewEncoder(w).Encode(r); err != nil {
		return 1
	}
	return 0
}

// nsInode is the inode of /proc/<pid>/ns/<typ>, 0 if there is none.
func nsInode(pid, typ string) uint64 {
	var st unix.Stat_t
	if err := unix.Stat("/proc/"+pid+"/ns/"+typ, &st); err != nil {
		return 0
	}
	return st.Ino
}

// message is one line the constructor writes on the sync fd.
type message struct {
	Type     string `json:"type"`
	Pid      int    `json:"pid"`
	Error    string `json:"error"`
	ExitCode int    `json:"exitCode"`
}

// reexec starts the test binary with env added, the socket's other end as
// fd 3 and, when report is set, the write end of a pipe as fd 4. It returns
// our end of the socket (with deadlines) and the read end of the pipe.
func reexec(t *testing.T, env []string, report bool) (*exec.Cmd, *os.File, *os.File, *bytes.Buffer) {
	t.Helper()
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	unix.SetNonblock(pair[0], true) // pollable, so read deadlines work
	sock, child := os.NewFile(uintptr(pair[0]), "sync"), os.NewFile(uintptr(pair[1]), "sync-child")
	t.Cleanup(func() { sock.Close() })
	defer child.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	cmd.ExtraFiles = []*os.File{child}
	var rr *os.File
	if report {
		var rw *os.File
		rr, rw, err = os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rr.Close() })
		defer rw.Close()
		cmd.Env = append(cmd.Env, reportEnv+"=1")
		cmd.ExtraFiles = append(cmd.ExtraFiles, rw)
	}
	// Not a pipe: a grandchild inherits stderr, and Wait would wait for it too.
	stderr, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	out, _ := os.ReadFile(stderr.Name())
	return cmd, sock, rr, bytes.NewBuffer(out)
}

// readAll reads r to EOF, failing the test after 10s.
func readAll(t *testing.T, r *os.File) []byte {
	t.Helper()
	r.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("reading %s: %v", r.Name(), err)
	}
	return b
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name    string
		join    string
		unshare string
		noSync  bool
		want    string
	}{
		{"missing path", "user:/nonexistent/ns", "", false, "opening user namespace /nonexistent/ns: no such file or directory"},
		{"escaped path", `net:/nonexistent/"q\b`, "0", false, `opening net namespace /nonexistent/"q\b: no such file or directory`},
		{"unknown type", "user:/proc/self/ns/user,foo:/x", "", false, "unknown namespace type foo"},
		{"no path", "user", "", false, "invalid namespace user: want type:path"},
		{"not a namespace", "net:/dev/null", "", false, "joining net namespace /dev/null: invalid argument"},
		{"wrong type", "user:/proc/self/ns/net", "", false, "joining user namespace /proc/self/ns/net: invalid argument"},
		{"new user namespace", "net:/proc/self/ns/net", fmt.Sprint(unix.CLONE_NEWUSER), false, "invalid _NOOK_NSENTER_UNSHARE 268435456"},
		{"bad unshare", "net:/proc/self/ns/net", "0x20000", false, "invalid _NOOK_NSENTER_UNSHARE 0x20000"},
		{"no sync fd", "user:/nonexistent/ns", "", true, "opening user namespace /nonexistent/ns: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := []string{"_NOOK_NSENTER_JOIN=" + tt.join, "_NOOK_NSENTER_SYNCFD=3"}
			if tt.noSync {
				env[1] = "_NOOK_NSENTER_SYNCFD=9"
			}
			if tt.unshare != "" {
				env = append(env, "_NOOK_NSENTER_UNSHARE="+tt.unshare)
			}
			cmd, sock, _, stderr := reexec(t, env, false)
			if code := cmd.ProcessState.ExitCode(); code != 125 {
				t.Fatalf("exit code %d, want 125; stderr: %s", code, stderr)
			}
			msg, _ := json.Marshal(tt.want)
			want := `{"type":"error","error":` + string(msg) + `,"exitCode":125}` + "\n"
			if got := stderr.String(); got != want {
				t.Errorf("stderr %q, want %q", got, want)
			}
			wantSync := want
			if tt.noSync {
				wantSync = ""
			}
			if got := string(readAll(t, sock)); got != wantSync {
				t.Errorf("sync fd %q, want %q", got, wantSync)
			}
		})
	}
}

// holder starts a process in new user, net and (when the kernel has them) time
// namespaces, with root mapped to 100000, and returns its pid as a string.
func holder(t *testing.T) (pid string, withTime bool) {
	t.Helper()
	flags := uintptr(unix.CLONE_NEWUSER | unix.CLONE_NEWNET)
	if _, err := os.Stat("/proc/self/ns/time"); err == nil {
		flags |= unix.CLONE_NEWTIME // Go uses clone3 for this one
		withTime = true
	}
	cmd := exec.Command("sleep", "60")
	ids := []syscall.SysProcIDMap{{ContainerID: 0, HostID: 100000, Size: 65536}}
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: flags, UidMappings: ids, GidMappings: ids}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting namespace holder: %v", err)
	}
	t.Cleanup(func() {
		unix.Kill(cmd.Process.Pid, unix.SIGKILL)
		cmd.Wait()
	})
	return fmt.Sprint(cmd.Process.Pid), withTime
}

func TestJoin(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	hpid, withTime := holder(t)
	join := "user:/proc/" + hpid + "/ns/user,net:/proc/" + hpid + "/ns/net"
	if withTime {
		join += ",time:/proc/" + hpid + "/ns/time"
	}
	// The pid namespace's init is the grandchild of this test once the
	// intermediate exits: become its reaper so that it can be waited for.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		name    string
		unshare int
	}{
		{"new pid and uts", unix.CLONE_NEWPID | unix.CLONE_NEWUTS},
		{"no fork", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := []string{"_NOOK_NSENTER_JOIN=" + join, "_NOOK_NSENTER_SYNCFD=3",
				fmt.Sprintf("_NOOK_NSENTER_UNSHARE=%d", tt.unshare)}
			cmd, sock, rr, stderr := reexec(t, env, true)
			if code := cmd.ProcessState.ExitCode(); code != 0 {
				t.Fatalf("exit code %d; stderr: %s", code, stderr)
			}
			forks := tt.unshare&unix.CLONE_NEWPID != 0
			initPid := cmd.Process.Pid
			if forks {
				line, err := bufio.NewReader(sock).ReadBytes('\n')
				var m message
				if err == nil {
					err = json.Unmarshal(line, &m)
				}
				if err != nil || m.Type != "pid" || m.Pid <= 0 || m.Pid == cmd.Process.Pid {
					t.Fatalf("sync fd: %q (%v), want a pid line; stderr: %s", line, err, stderr)
				}
				initPid = m.Pid
				done := make(chan unix.WaitStatus, 1)
				go func() {
					var ws unix.WaitStatus
					unix.Wait4(initPid, &ws, 0, nil)
					done <- ws
				}()
				t.Cleanup(func() {
					select {
					case <-done:
					case <-time.After(10 * time.Second):
						unix.Kill(initPid, unix.SIGKILL)
						<-done
						t.Errorf("grandchild %d did not exit", initPid)
					}
				})
			}
			var r report
			b := readAll(t, rr)
			if err := json.Unmarshal(b, &r); err != nil {
				t.Fatalf("report %q: %v; stderr: %s", b, err, stderr)
			}
			t.Logf("init pid %d: %+v", initPid, r)
			if want := nsInode(hpid, "user"); r.User != want {
				t.Errorf("user namespace %d, want the holder's %d", r.User, want)
			}
			if want := nsInode(hpid, "net"); r.Net != want {
				t.Errorf("net namespace %d, want the holder's %d", r.Net, want)
			}
			if want := nsInode(hpid, "time"); withTime && r.Time != want {
				t.Errorf("time namespace %d, want the holder's %d", r.Time, want)
			}
			if host := nsInode("self", "uts"); (r.UTS != host) != forks {
				t.Errorf("uts namespace %d, host's %d: want new %v", r.UTS, host, forks)
			}
			if r.UID != 0 {
				t.Errorf("uid %d, want 0", r.UID)
			}
			if wantPid := map[bool]int{true: 1, false: cmd.Process.Pid}[forks]; r.PID != wantPid {
				t.Errorf("getpid() %d, want %d", r.PID, wantPid)
			}
			if len(r.Env) != 0 {
				t.Errorf("environment still has %q", r.Env)
			}
			if !forks {
				if b := readAll(t, sock); len(b) != 0 {
					t.Errorf("sync fd %q, want nothing without a fork", b)
				}
			}
		})
	}
}
