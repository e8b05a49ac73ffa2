package seccomp

import (
	"errors"
	"fmt"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// HasNotify reports whether s has a rule with SCMP_ACT_NOTIFY: loading it
// then gives a listener fd that belongs to the agent at s.ListenerPath.
func HasNotify(s *specs.LinuxSeccomp) bool {
	if s == nil {
		return false
	}
	for _, sc := range s.Syscalls {
		if sc.Action == specs.ActNotify {
			return true
		}
	}
	return false
}

// checkNotify checks what the spec and the hand-over of the listener ask of
// a profile with SCMP_ACT_NOTIFY rules (config-linux.md, "seccomp"):
//
//   - not the default action: every syscall of the runtime after the load
//     would wait for an agent that does not have the listener yet (runc and
//     youki refuse it too);
//   - not for write(2): the one syscall init makes between loading the filter
//     and the runtime holding a copy of the listener (see initproc's
//     handOverListener). runc refuses the same, for the same reason;
//   - listenerPath is required: without an agent every notified syscall
//     would fail with ENOSYS, which is not what the profile asks for;
//   - listenerMetadata needs listenerPath ("MUST NOT be set if listenerPath
//     is not set").
func checkNotify(s *specs.LinuxSeccomp) error {
	if s.ListenerMetadata != "" && s.ListenerPath == "" {
		return errors.New("listenerMetadata is set but listenerPath is not")
	}
	if s.DefaultAction == specs.ActNotify {
		return errors.New("SCMP_ACT_NOTIFY cannot be the default action")
	}
	notify := false
	for i, sc := range s.Syscalls {
		if sc.Action != specs.ActNotify {
			continue
		}
		notify = true
		for _, name := range sc.Names {
			if name == "write" {
				return fmt.Errorf("seccomp syscalls[%d]: SCMP_ACT_NOTIFY cannot be used for write (the runtime needs it to hand the listener over)", i)
			}
		}
	}
	if notify && s.ListenerPath == "" {
		return errors.New("SCMP_ACT_NOTIFY needs listenerPath (the agent's socket)")
	}
	return nil
}
