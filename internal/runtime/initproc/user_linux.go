package initproc

import (
	"bufio"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nook-containers/nook/internal/runtime/caps"
)

// setupUser switches to process.user: supplementary groups, gid, uid, umask.
//
// The syscall package's Setgroups/Setresgid/Setresuid change every thread of
// the process (Go ≥ 1.16), so no Go thread keeps root by accident.
// PR_SET_KEEPCAPS keeps the permitted set across the uid change so that
// applyCapabilities can still grant what the spec asks for.
func setupUser(p *specs.Process, log *slog.Logger) error {
	u := p.User
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("setting PR_SET_KEEPCAPS: %w", err)
	}
	groups := make([]int, len(u.AdditionalGids))
	for i, g := range u.AdditionalGids {
		groups[i] = int(g)
	}
	if err := syscall.Setgroups(groups); err != nil {
		// A user namespace whose setgroups file says "deny" refuses even
		// an empty list; that is only an error if groups were asked for.
		if len(groups) > 0 {
			return fmt.Errorf("setting additional groups %v: %w", groups, err)
		}
	}
	if err := syscall.Setresgid(int(u.GID), int(u.GID), int(u.GID)); err != nil {
		return fmt.Errorf("setting gid %d: %w", u.GID, err)
	}
	if err := syscall.Setresuid(int(u.UID), int(u.UID), int(u.UID)); err != nil {
		return fmt.Errorf("setting uid %d: %w", u.UID, err)
	}
	umask := 0o022
	if u.Umask != nil {
		umask = int(*u.Umask)
	}
	unix.Umask(umask)
	log.Debug("user", "uid", u.UID, "gid", u.GID, "groups", fmt.Sprint(groups), "umask", fmt.Sprintf("%04o", umask))
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("clearing PR_SET_KEEPCAPS: %w", err)
	}
	return nil
}

// applyCapabilities sets the five capability sets of process.capabilities on
// this (locked) thread, which is the one that execve()s.
func applyCapabilities(c *specs.LinuxCapabilities, log *slog.Logger) error {
	if err := caps.Apply(c, log); err != nil {
		return fmt.Errorf("setting capabilities: %w", err)
	}
	return nil
}

// homeFor returns uid's home directory from the container's /etc/passwd, or
// "/" like runc when there is none.
func homeFor(uid uint32) string {
	f, err := os.Open("/etc/passwd")
	if err != nil {
		return "/"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) < 7 {
			continue
		}
		if id, err := strconv.ParseUint(fields[2], 10, 32); err == nil && uint32(id) == uid && fields[5] != "" {
			return fields[5]
		}
	}
	return "/"
}
