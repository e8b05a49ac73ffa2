package caps

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// sets holds the five capability sets of one thread as bit masks.
type sets struct {
	bounding, effective, permitted, inheritable, ambient uint64
}

// Apply gives the calling thread exactly the capabilities in c:
//
//  1. drop from the bounding set every capability not in c.Bounding
//     (PR_CAPBSET_DROP; needs CAP_SETPCAP, see below);
//  2. set the effective, permitted and inheritable sets (capset(2));
//  3. clear the ambient set and raise each capability in c.Ambient
//     (PR_CAP_AMBIENT; each must also be permitted and inheritable).
//
// A nil c means the spec grants no capabilities: every set is emptied, as
// runc does. Names the package knows but the running kernel does not are
// logged at warn level and skipped; unknown names are an error wrapping
// ErrUnknown, returned before anything changes.
//
// Preconditions: the caller's goroutine is locked to its OS thread and will
// execve from it (see the package documentation). If called after switching
// from uid 0 to another uid, PR_SET_KEEPCAPS must have been set before the
// switch so that the permitted set survived it; Apply itself raises the
// effective set to the permitted set before dropping from the bounding set.
// A nil log discards the trace.
func Apply(c *specs.LinuxCapabilities, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if c == nil {
		c = &specs.LinuxCapabilities{}
	}
	last, err := LastCap()
	if err != nil {
		return err
	}
	want, err := wanted(c, last, log)
	if err != nil {
		return err
	}

	// After setuid(non-zero) with PR_SET_KEEPCAPS the effective set is
	// empty; PR_CAPBSET_DROP needs CAP_SETPCAP in it. Raising effective up to
	// permitted needs no privilege.
	cur, err := capget()
	if err != nil {
		return fmt.Errorf("reading capabilities: %w", err)
	}
	if cur.effective != cur.permitted {
		cur.effective = cur.permitted
		if err := capset(cur); err != nil {
			return fmt.Errorf("raising effective capabilities to permitted: %w", err)
		}
	}

	dropped, err := dropBounding(want.bounding, last)
	if err != nil {
		return err
	}
	log.Debug("capabilities", "set", "bounding", "caps", join(want.bounding), "dropped", dropped)

	if err := capset(want); err != nil {
		return fmt.Errorf("setting effective %s, permitted %s, inheritable %s capabilities: %w",
			join(want.effective), join(want.permitted), join(want.inheritable), err)
	}
	log.Debug("capabilities", "set", "effective", "caps", join(want.effective))
	log.Debug("capabilities", "set", "permitted", "caps", join(want.permitted))
	log.Debug("capabilities", "set", "inheritable", "caps", join(want.inheritable))

	if err := setAmbient(want.ambient, log); err != nil {
		return err
	}
	log.Debug("capabilities", "set", "ambient", "caps", join(want.ambient))
	return nil
}

// wanted turns the spec's name lists into masks, skipping (with a warning)
// names above the kernel's last capability.
func wanted(c *specs.LinuxCapabilities, last int, log *slog.Logger) (sets, error) {
	var s sets
	var err error
	lists := []struct {
		set  string
		list []string
		mask *uint64
	}{
		{"bounding", c.Bounding, &s.bounding},
		{"effective", c.Effective, &s.effective},
		{"permitted", c.Permitted, &s.permitted},
		{"inheritable", c.Inheritable, &s.inheritable},
		{"ambient", c.Ambient, &s.ambient},
	}
	for _, l := range lists {
		if *l.mask, err = Mask(l.list); err != nil {
			return sets{}, fmt.Errorf("%s capabilities: %w", l.set, err)
		}
		if skip := Unavailable(l.list, last); len(skip) > 0 {
			log.Warn("capabilities not supported by the running kernel, skipping",
				"set", l.set, "caps", strings.Join(skip, ","), "lastCap", last)
			*l.mask &= 1<<(last+1) - 1
		}
	}
	return s, nil
}

// dropBounding drops from the calling thread's bounding set every capability
// up to last that is not in keep, and returns how many it dropped.
// Capabilities already absent are left alone, so no privilege is needed when
// there is nothing to drop.
func dropBounding(keep uint64, last int) (int, error) {
	dropped := 0
	for n := 0; n <= last; n++ {
		if keep&(1<<n) != 0 {
			continue
		}
		in, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(n), 0, 0, 0)
		if err != nil {
			return dropped, fmt.Errorf("reading the bounding set for %s: %w", name(n), err)
		}
		if in == 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(n), 0, 0, 0); err != nil {
			return dropped, fmt.Errorf("dropping %s from the bounding set: %w", name(n), err)
		}
		dropped++
	}
	return dropped, nil
}

// setAmbient makes the calling thread's ambient set as close to mask as the
// kernel allows. An ambient capability must also be permitted and
// inheritable; one that is not (runc's own default spec asks for ambient
// capabilities with no inheritable ones) is left out with a warning, as runc
// does, rather than failing the container.
func setAmbient(mask uint64, log *slog.Logger) error {
	err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
	// Kernels before 4.3 have no ambient set (EINVAL); that is fine as long
	// as none is asked for.
	if errors.Is(err, unix.EINVAL) && mask == 0 {
		return nil
	}
	if err != nil {
		return fmt.Errorf("clearing ambient capabilities: %w", err)
	}
	for n := 0; n < 64; n++ {
		if mask&(1<<n) == 0 {
			continue
		}
		err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(n), 0, 0)
		if errors.Is(err, unix.EPERM) {
			log.Warn("ambient capability not raised: it must also be permitted and inheritable", "capability", name(n))
			continue
		}
		if err != nil {
			return fmt.Errorf("raising ambient %s: %w", name(n), err)
		}
	}
	return nil
}

// capget reads the calling thread's effective, permitted and inheritable
// sets. Version 3 of the interface uses two 32-bit words per set.
func capget() (sets, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return sets{}, err
	}
	return sets{
		effective:   uint64(data[0].Effective) | uint64(data[1].Effective)<<32,
		permitted:   uint64(data[0].Permitted) | uint64(data[1].Permitted)<<32,
		inheritable: uint64(data[0].Inheritable) | uint64(data[1].Inheritable)<<32,
	}, nil
}

// capset sets the calling thread's effective, permitted and inheritable sets
// (pid 0 in the header means the calling thread).
func capset(s sets) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	data := [2]unix.CapUserData{
		{Effective: uint32(s.effective), Permitted: uint32(s.permitted), Inheritable: uint32(s.inheritable)},
		{Effective: uint32(s.effective >> 32), Permitted: uint32(s.permitted >> 32), Inheritable: uint32(s.inheritable >> 32)},
	}
	return unix.Capset(&hdr, &data[0])
}

func name(n int) string { return Names(1 << n)[0] }

func join(mask uint64) string { return strings.Join(Names(mask), ",") }
