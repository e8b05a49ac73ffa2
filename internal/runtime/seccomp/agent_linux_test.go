package seccomp

import (
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestSendListener plays the agent: one connection, the state in JSON with
// fds ["seccompFd"], the fd itself in SCM_RIGHTS, then EOF.
func TestSendListener(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	r, w, err := os.Pipe() // stands in for the listener
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()

	type got struct {
		data []byte
		fds  []int
		err  error
	}
	done := make(chan got, 1)
	go func() {
		var g got
		defer func() { done <- g }()
		c, err := ln.AcceptUnix()
		if err != nil {
			g.err = err
			return
		}
		defer c.Close()
		buf, oob := make([]byte, 4096), make([]byte, unix.CmsgSpace(4))
		for {
			n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
			g.data = append(g.data, buf[:n]...)
			if oobn > 0 {
				msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
				for _, m := range msgs {
					fds, _ := unix.ParseUnixRights(&m)
					g.fds = append(g.fds, fds...)
				}
			}
			if err == io.EOF || n == 0 {
				return
			}
			if err != nil {
				g.err = err
				return
			}
		}
	}()
	st := specs.ContainerProcessState{Version: specs.Version, Pid: 42, Metadata: "meta",
		State: specs.State{Version: specs.Version, ID: "c1", Status: specs.StateCreating, Pid: 42, Bundle: "/b"}}
	if err := SendListener(path, st, int(w.Fd())); err != nil {
		t.Fatal(err)
	}
	g := <-done
	if g.err != nil {
		t.Fatal(g.err)
	}
	var back specs.ContainerProcessState
	if err := json.Unmarshal(g.data, &back); err != nil {
		t.Fatalf("%v: %s", err, g.data)
	}
	if back.Pid != 42 || back.Metadata != "meta" || len(back.Fds) != 1 || back.Fds[0] != "seccompFd" || back.State.ID != "c1" {
		t.Errorf("state %+v", back)
	}
	if len(g.fds) != 1 {
		t.Fatalf("fds %v, want one", g.fds)
	}
	// The fd is the same open file: what goes in comes out of r.
	unix.Write(g.fds[0], []byte("x"))
	unix.Close(g.fds[0])
	b := make([]byte, 1)
	if n, _ := r.Read(b); n != 1 || b[0] != 'x' {
		t.Error("the fd received is not the one sent")
	}

	err = SendListener(filepath.Join(t.TempDir(), "none.sock"), st, int(w.Fd()))
	if err == nil || !strings.Contains(err.Error(), "none.sock") {
		t.Errorf("no agent: err = %v", err)
	}
}
