package initproc

import "os"

// MsgJoinCgroup is init asking the parent to move it into the container's
// cgroup; the parent writes init's pid to cgroup.procs and answers
// MsgContinue (or gives up on the container and reports why).
//
// Init asks only once its Go runtime has started and the bootstrap is
// decoded. Memory is charged to the cgroup a page is first touched in, and
// no charge moves with a migrating task (cgroup v2 never moves charges; v1
// does only with memory.move_charge_at_immigrate, which nook leaves off):
// the runtime's own few MiB stay charged where the runtime runs, and the
// container's memory limit counts what the container uses — from init's
// last steps on, then the program's. A `true` container starts under a
// 1 MiB limit this way; cloned straight into the cgroup it needs several.
//
// It comes before every namespace init enters or makes itself (a cgroup
// namespace is rooted at the cgroup of the process that makes it).
const MsgJoinCgroup MsgType = "joinCgroup"

func joinCgroup(conn *Conn) error {
	if err := conn.Send(Message{Type: MsgJoinCgroup}); err != nil {
		return err
	}
	m, err := conn.Recv()
	if err != nil || m.Type != MsgContinue {
		// The parent gave up (joining failed): it reports the error.
		os.Exit(125)
	}
	return nil
}
