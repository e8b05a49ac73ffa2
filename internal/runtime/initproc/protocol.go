package initproc

import (
	"encoding/json"
	"fmt"
	"io"
)

// FDs are the fds the parent passes to init, right after the fds the
// program keeps (3 .. 3+PreserveFDs-1). The parent tells init their numbers
// in the environment variable FDsEnv as "sync,statedir,log,console" (-1: none).
type FDs struct {
	// Sync is init's end of a SOCK_STREAM socketpair with the parent.
	Sync int
	// StateDir is an O_PATH fd of the container's state dir, through which
	// init opens exec.fifo after pivot_root.
	StateDir int
	// Log is where init writes its debug trace (the runtime's --log).
	Log int
	// Console is a connected unix socket that receives the pty master when
	// process.terminal is true (see setupConsole).
	Console int
}

// FDsEnv is the environment variable that carries FDs to init. init's own
// environment never reaches the program: execve gets process.env.
const FDsEnv = "_NOOK_INIT_FDS"

func (f FDs) String() string {
	return fmt.Sprintf("%d,%d,%d,%d", f.Sync, f.StateDir, f.Log, f.Console)
}

// ParseFDs reads FDs back from FDsEnv's value.
func ParseFDs(s string) (FDs, error) {
	var f FDs
	if _, err := fmt.Sscanf(s, "%d,%d,%d,%d", &f.Sync, &f.StateDir, &f.Log, &f.Console); err != nil {
		return f, fmt.Errorf("malformed %s=%q: %w", FDsEnv, s, err)
	}
	return f, nil
}

// MsgType names one step of the parent/init conversation:
//
//	parent → init   bootstrap   the spec and everything init needs
//	parent → init   exec        instead of bootstrap: run a process in a
//	                            running container (nook-runtime exec)
//	init → parent   ready       rootfs built, user switched, program found
//	init → parent   error       a step failed; init exits right after
//	init → parent   seccompFd   the seccomp filter is loaded and has a
//	                            listener: its fd number in init (Fd); the
//	                            parent copies it (pidfd_getfd), hands it to
//	                            the agent and answers continue
type MsgType string

const (
	MsgBootstrap MsgType = "bootstrap"
	MsgExec      MsgType = "exec"
	MsgReady     MsgType = "ready"
	MsgError     MsgType = "error"
	// MsgPid comes from nsenter's C constructor when it forked into a new
	// (or joined) pid namespace: the pid of the real init.
	MsgPid MsgType = "pid"
	// MsgCreateRuntime asks the parent to run the prestart and
	// createRuntime hooks (mounts done, before pivot_root); the parent
	// answers MsgContinue or gives up on the container.
	MsgCreateRuntime MsgType = "createRuntime"
	MsgContinue      MsgType = "continue"
	// MsgSeccompFd says init holds a seccomp notification listener, fd
	// number Fd; the parent answers MsgContinue once the agent at
	// linux.seccomp.listenerPath has it (see handOverListener).
	MsgSeccompFd MsgType = "seccompFd"
)

// Message is one typed message on the sync socket, a JSON value per message.
type Message struct {
	Type      MsgType        `json:"type"`
	Bootstrap *Bootstrap     `json:"bootstrap,omitempty"`
	Exec      *ExecBootstrap `json:"exec,omitempty"`
	// Error is the one-line message for the user, ExitCode the status the
	// runtime exits with (127 not found, 126 not executable).
	Error    string `json:"error,omitempty"`
	ExitCode int    `json:"exitCode,omitempty"`
	Pid      int    `json:"pid,omitempty"`
	Fd       int    `json:"fd,omitempty"`
}

// Conn is one end of the sync socket.
type Conn struct {
	w   io.Writer
	dec *json.Decoder
}

// NewConn wraps rw (the socket) for typed messages.
func NewConn(rw io.ReadWriter) *Conn {
	return &Conn{w: rw, dec: json.NewDecoder(rw)}
}

// Send writes one message: the bare JSON object, with no newline after it.
// The decoder on the other side stops at the closing brace, so nothing is
// left unread; a process that execs (closing its end) with bytes still
// unread in its socket would make the kernel report ECONNRESET to us
// instead of the EOF that means "execve succeeded".
func (c *Conn) Send(m Message) error {
	data, err := json.Marshal(m)
	if err == nil {
		_, err = c.w.Write(data)
	}
	if err != nil {
		return fmt.Errorf("sending %s to the other side: %w", m.Type, err)
	}
	return nil
}

// Recv reads the next message; io.EOF means the other side is gone.
func (c *Conn) Recv() (Message, error) {
	var m Message
	err := c.dec.Decode(&m)
	return m, err
}
