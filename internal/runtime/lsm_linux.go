package runtime

import (
	"fmt"
	"os"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// checkLSM refuses an AppArmor profile or SELinux label the host cannot
// apply: running the container unconfined instead would be a silent
// downgrade of what config.json asked for. Where the host has the LSM, init
// applies the label just before execve (initproc.applyLSM).
func checkLSM(s *specs.Spec) error {
	if p := s.Process.ApparmorProfile; p != "" && !apparmorEnabled() {
		return fmt.Errorf("config.json: process.apparmorProfile %q: AppArmor is not enabled on this host", p)
	}
	if l := s.Process.SelinuxLabel; l != "" && !selinuxEnabled() {
		return fmt.Errorf("config.json: process.selinuxLabel %q: SELinux is not enabled on this host", l)
	}
	if l := s.Linux.MountLabel; l != "" && !selinuxEnabled() {
		return fmt.Errorf("config.json: linux.mountLabel %q: SELinux is not enabled on this host", l)
	}
	return nil
}

func apparmorEnabled() bool {
	data, err := os.ReadFile("/sys/module/apparmor/parameters/enabled")
	return err == nil && strings.HasPrefix(string(data), "Y")
}

func selinuxEnabled() bool {
	_, err := os.Stat("/sys/fs/selinux/enforce")
	return err == nil
}
