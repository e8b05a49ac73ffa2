package seccomp

import (
	"encoding/json"
	"fmt"
	"net"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// agentTimeout bounds the hand-over to an agent that accepts the
// connection but never reads.
const agentTimeout = 10 * time.Second

// SendListener hands a notification listener fd to the seccomp agent
// listening at path (linux.seccomp.listenerPath), as config-linux.md's
// "The Container Process State" says: one new SOCK_STREAM connection per
// listener, st in JSON with the fd in SCM_RIGHTS on the first sendmsg, then
// the connection is closed. st.Fds is set to ["seccompFd"]. The caller keeps
// (and closes) its own copy of fd.
func SendListener(path string, st specs.ContainerProcessState, fd int) error {
	st.Fds = []string{specs.SeccompFdName}
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	c, err := net.DialTimeout("unix", path, agentTimeout)
	if err != nil {
		return err // "dial unix PATH: connect: ..." says it all
	}
	defer c.Close()
	uc := c.(*net.UnixConn)
	uc.SetDeadline(time.Now().Add(agentTimeout))
	n, _, err := uc.WriteMsgUnix(data, unix.UnixRights(fd), nil)
	if err == nil && n < len(data) {
		// The fd went with the first part; the rest is plain payload.
		_, err = uc.Write(data[n:])
	}
	if err != nil {
		return fmt.Errorf("sending the container process state: %w", err)
	}
	return nil
}
