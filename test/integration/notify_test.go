package integration

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The kernel's seccomp_unotify(2) structures (linux/seccomp.h); x/sys/unix
// has the ioctl numbers but not these.
type seccompData struct {
	Nr   int32
	Arch uint32
	IP   uint64
	Args [6]uint64
}

type seccompNotif struct {
	ID    uint64
	Pid   uint32
	Flags uint32
	Data  seccompData
}

type seccompNotifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

// SECCOMP_IOCTL_NOTIF_ID_VALID, _IOW('!', 2, __u64).
const seccompIoctlNotifIDValid = 0x40082102

// agent is a seccomp agent, as linux.seccomp.listenerPath expects one: it
// takes each container process state (with its listener fd) and answers
// the notifications. mkdir/mkdirat of a directory named deny-* fails with
// EXDEV; any other goes on (SECCOMP_USER_NOTIF_FLAG_CONTINUE).
type agent struct {
	t    *testing.T
	path string
	ln   *net.UnixListener
	stop chan struct{}
	wg   sync.WaitGroup

	states chan specs.ContainerProcessState

	mu   sync.Mutex
	seen []string // "deny" or "allow" and the path, one per notification
}

func newAgent(t *testing.T) *agent {
	t.Helper()
	dir, err := os.MkdirTemp("", "nook-agent-") // short: sun_path is 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	a := &agent{t: t, path: filepath.Join(dir, "agent.sock"), stop: make(chan struct{}),
		states: make(chan specs.ContainerProcessState, 8)}
	a.ln, err = net.ListenUnix("unix", &net.UnixAddr{Name: a.path, Net: "unix"})
	if err != nil {
		os.RemoveAll(dir)
		t.Fatal(err)
	}
	a.wg.Add(1)
	go a.accept()
	t.Cleanup(func() {
		// Runs before newEnv's cleanup (registered earlier): the
		// listeners close, so a container process still waiting for an
		// answer gets ENOSYS and the container can be deleted.
		close(a.stop)
		a.ln.Close()
		a.wg.Wait()
		os.RemoveAll(dir)
	})
	return a
}

func (a *agent) accept() {
	defer a.wg.Done()
	for {
		c, err := a.ln.AcceptUnix()
		if err != nil {
			return
		}
		st, fd, err := readState(c)
		c.Close()
		if err != nil {
			a.t.Errorf("agent: %v", err)
			continue
		}
		a.states <- st
		a.wg.Add(1)
		go a.serve(fd)
	}
}

// readState reads one container process state and the fds that came with
// it, until the runtime closes the connection.
func readState(c *net.UnixConn) (specs.ContainerProcessState, int, error) {
	var st specs.ContainerProcessState
	c.SetDeadline(time.Now().Add(10 * time.Second))
	var data []byte
	var fds []int
	buf, oob := make([]byte, 4096), make([]byte, unix.CmsgSpace(4*4))
	for {
		n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
		data = append(data, buf[:n]...)
		if oobn > 0 {
			msgs, perr := unix.ParseSocketControlMessage(oob[:oobn])
			if perr != nil {
				return st, -1, perr
			}
			for _, m := range msgs {
				rights, perr := unix.ParseUnixRights(&m)
				if perr == nil {
					fds = append(fds, rights...)
				}
			}
		}
		if err != nil || n == 0 {
			break
		}
	}
	if len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return st, -1, errors.New("want exactly one fd, got " + strconv.Itoa(len(fds)))
	}
	if err := json.Unmarshal(data, &st); err != nil {
		unix.Close(fds[0])
		return st, -1, errors.New("decoding the state: " + err.Error() + ": " + string(data))
	}
	return st, fds[0], nil
}

// serve answers the notifications of one listener until every process
// using the filter is gone (POLLHUP) or the test ends.
func (a *agent) serve(fd int) {
	defer a.wg.Done()
	defer unix.Close(fd)
	for {
		select {
		case <-a.stop:
			return
		default:
		}
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(pfd, 100)
		if err != nil && !errors.Is(err, unix.EINTR) {
			a.t.Errorf("agent: poll: %v", err)
			return
		}
		if n == 0 {
			continue
		}
		if pfd[0].Revents&unix.POLLIN == 0 {
			if pfd[0].Revents&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0 {
				return // no process left
			}
			continue // POLLOUT alone: a notification received and not yet answered
		}
		var req seccompNotif // must be zeroed for the kernel
		if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_RECV, uintptr(unsafe.Pointer(&req))); e != 0 {
			if e == unix.ENOENT || e == unix.EINTR {
				continue // the process went away before we got it
			}
			a.t.Errorf("agent: SECCOMP_IOCTL_NOTIF_RECV: %v", e)
			return
		}
		a.answer(fd, &req)
	}
}

func (a *agent) answer(fd int, req *seccompNotif) {
	resp := seccompNotifResp{ID: req.ID, Flags: unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE}
	var addr uint64
	switch req.Data.Nr {
	case unix.SYS_MKDIR:
		addr = req.Data.Args[0]
	case unix.SYS_MKDIRAT:
		addr = req.Data.Args[1]
	}
	path := readString(int(req.Pid), addr)
	// The process may have died and its pid been reused while we read its
	// memory: only trust what we read if the notification is still alive.
	id := req.ID
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), seccompIoctlNotifIDValid, uintptr(unsafe.Pointer(&id))); e != 0 {
		return
	}
	verdict := "allow"
	if strings.HasPrefix(filepath.Base(path), "deny") {
		verdict = "deny"
		resp = seccompNotifResp{ID: req.ID, Error: -int32(unix.EXDEV)}
	}
	a.mu.Lock()
	a.seen = append(a.seen, verdict+" "+path)
	a.mu.Unlock()
	unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_SEND, uintptr(unsafe.Pointer(&resp)))
}

// readString reads a NUL-terminated path from process pid's memory.
func readString(pid int, addr uint64) string {
	if addr == 0 {
		return ""
	}
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/mem")
	if err != nil {
		return ""
	}
	defer f.Close()
	buf := make([]byte, 4096)
	n, _ := f.ReadAt(buf, int64(addr))
	if i := bytes.IndexByte(buf[:n], 0); i >= 0 {
		n = i
	}
	return string(buf[:n])
}

func (a *agent) seenList() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return strings.Join(a.seen, "; ")
}

// state waits for the next container process state.
func (a *agent) state() specs.ContainerProcessState {
	a.t.Helper()
	select {
	case st := <-a.states:
		return st
	case <-time.After(10 * time.Second):
		a.t.Fatal("the agent got no container process state")
	}
	return specs.ContainerProcessState{}
}

// notifyProfile sends mkdir and mkdirat to the agent.
func (a *agent) notifyProfile(metadata string) *specs.LinuxSeccomp {
	return &specs.LinuxSeccomp{
		DefaultAction:    specs.ActAllow,
		Architectures:    []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
		ListenerPath:     a.path,
		ListenerMetadata: metadata,
		Syscalls:         []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActNotify}},
	}
}

const mkdirScript = "mkdir /tmp/deny-a 2>&1; echo rc=$?; mkdir /tmp/ok-b && ls -d /tmp/ok-b"

// checkMkdirOutput: the agent's answers were used, EXDEV for deny-a, the
// real mkdir for ok-b.
func checkMkdirOutput(t *testing.T, a *agent, r result) {
	t.Helper()
	if r.code != 0 || !strings.Contains(r.stdout, "Invalid cross-device link") || !strings.Contains(r.stdout, "rc=1\n") ||
		!strings.HasSuffix(r.stdout, "/tmp/ok-b\n") {
		t.Errorf("container output does not show the agent's answers: %s\nagent saw: %s", r, a.seenList())
	}
	seen := a.seenList()
	if !strings.Contains(seen, "deny /tmp/deny-a") || !strings.Contains(seen, "allow /tmp/ok-b") {
		t.Errorf("agent saw %q", seen)
	}
}

// importantSyscalls are ones the runtime makes after it loads the filter.
var importantSyscalls = []string{"execve", "openat", "open", "read", "close", "fcntl", "sendmsg", "recvmsg", "mmap", "munmap"}

// TestSeccompNotify: the container's init loads a filter with
// SCMP_ACT_NOTIFY rules; the runtime hands its listener to the agent at
// listenerPath with the container process state; the agent's answers
// decide what mkdir does. With and without no_new_privs (the filter is
// loaded at different points of init), and with the syscalls the runtime
// itself makes after loading the filter notified too (runc's "important
// syscalls" test): init must not wait on an agent that has no listener yet.
func TestSeccompNotify(t *testing.T) {
	for _, nnp := range []bool{false, true} {
		for _, extra := range [][]string{nil, importantSyscalls} {
			name := "nnp=" + strconv.FormatBool(nnp)
			if extra != nil {
				name += "/important"
			}
			t.Run(name, func(t *testing.T) {
				e := newEnv(t).args("sh", "-c", mkdirScript)
				a := newAgent(t)
				e.spec.Process.NoNewPrivileges = nnp
				e.spec.Linux.Seccomp = a.notifyProfile("meta-" + e.id)
				e.spec.Linux.Seccomp.Syscalls[0].Names = append(e.spec.Linux.Seccomp.Syscalls[0].Names, extra...)
				e.spec.Annotations = map[string]string{"org.example.key": "value"}
				r := e.run()
				st := a.state()
				checkMkdirOutput(t, a, r)
				if st.Version != specs.Version || len(st.Fds) != 1 || st.Fds[0] != specs.SeccompFdName ||
					st.Metadata != "meta-"+e.id || st.Pid <= 0 || st.Pid != st.State.Pid {
					t.Errorf("container process state: %+v", st)
				}
				if st.State.ID != e.id || st.State.Status != specs.StateCreating || st.State.Bundle != e.bundle ||
					st.State.Annotations["org.example.key"] != "value" {
					t.Errorf("container state: %+v", st.State)
				}
			})
		}
	}
}

// TestSeccompNotifyExec: an exec'd process loads the same filter, and its
// own listener goes to the agent over a new connection, with the exec'd
// process's pid and the container's state. With no_new_privs, the
// runtime's own syscalls are notified too.
func TestSeccompNotifyExec(t *testing.T) {
	for _, nnp := range []bool{false, true} {
		t.Run("nnp="+strconv.FormatBool(nnp), func(t *testing.T) {
			e := newEnv(t)
			a := newAgent(t)
			e.spec.Process.NoNewPrivileges = nnp
			e.spec.Linux.Seccomp = a.notifyProfile("")
			if nnp {
				e.spec.Linux.Seccomp.Syscalls[0].Names = append(e.spec.Linux.Seccomp.Syscalls[0].Names, importantSyscalls...)
			}
			initPid := e.sleeper()
			if st := a.state(); st.Pid != initPid {
				t.Errorf("init's state: pid %d, want %d", st.Pid, initPid)
			}
			r := e.rt("exec", e.id, "sh", "-c", mkdirScript)
			st := a.state()
			checkMkdirOutput(t, a, r)
			if st.Pid <= 0 || st.Pid == initPid || st.State.Pid != initPid || st.State.Status != specs.StateRunning ||
				st.Metadata != "" || len(st.Fds) != 1 {
				t.Errorf("exec's container process state: %+v (init %d)", st, initPid)
			}
		})
	}
}

// TestSeccompNotifyErrors: a profile the runtime cannot serve is a config
// error, and an agent that is not there fails create; nothing is left
// behind either way (newEnv's cleanup checks).
func TestSeccompNotifyErrors(t *testing.T) {
	e := newEnv(t).args("true")
	e.spec.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: filepath.Join(e.dir, "none.sock"),
		Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActNotify}}}
	if r := e.run(); r.code != 125 || !strings.Contains(r.stderr, "handing the seccomp listener to the agent") ||
		!strings.Contains(r.stderr, "none.sock") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("no agent: %s", r)
	}
	for _, tt := range []struct {
		name string
		sc   specs.LinuxSeccomp
		want string
	}{
		{"write", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: "/run/agent.sock",
			Syscalls: []specs.LinuxSyscall{{Names: []string{"write"}, Action: specs.ActNotify}}},
			"seccomp syscalls[0]: SCMP_ACT_NOTIFY cannot be used for write"},
		{"default", specs.LinuxSeccomp{DefaultAction: specs.ActNotify, ListenerPath: "/run/agent.sock"},
			"SCMP_ACT_NOTIFY cannot be the default action"},
		{"no listenerPath", specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
			Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActNotify}}},
			"SCMP_ACT_NOTIFY needs listenerPath"},
		{"metadata alone", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerMetadata: "x"},
			"listenerMetadata is set but listenerPath is not"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t).args("true")
			e.spec.Linux.Seccomp = &tt.sc
			if r := e.run(); r.code != 125 || !strings.Contains(r.stderr, "config.json: linux.seccomp: "+tt.want) {
				t.Errorf("%s", r)
			}
		})
	}
}
