package initproc

import (
	"fmt"
	"log/slog"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// applyLSM asks the kernel to move the program into its AppArmor profile or
// SELinux label at the next execve (attr/exec: the label takes effect at
// exec, so init itself keeps running unconfined until then). The runtime
// has checked that the host has the LSM.
func applyLSM(p *specs.Process, log *slog.Logger) error {
	if p.ApparmorProfile != "" {
		file := "/proc/thread-self/attr/apparmor/exec"
		if _, err := os.Stat(file); err != nil {
			file = "/proc/thread-self/attr/exec"
		}
		if err := os.WriteFile(file, []byte("exec "+p.ApparmorProfile), 0); err != nil {
			return fmt.Errorf("setting AppArmor profile %q: %w", p.ApparmorProfile, err)
		}
		log.Debug("apparmor", "profile", p.ApparmorProfile, "file", file)
	}
	if p.SelinuxLabel != "" {
		if err := os.WriteFile("/proc/thread-self/attr/exec", []byte(p.SelinuxLabel), 0); err != nil {
			return fmt.Errorf("setting SELinux label %q: %w", p.SelinuxLabel, err)
		}
		log.Debug("selinux", "label", p.SelinuxLabel)
	}
	return nil
}
