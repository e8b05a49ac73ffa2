package rootfs

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

const (
	// pageSize bounds mount(2)'s options string (it copies one page).
	pageSize = 4096
	// fsconfigMax bounds an fsconfig(2) string value (strndup_user(value, 256)
	// in fs/fsopen.c).
	fsconfigMax = 256
)

// forceLegacy makes mountOverlay use mount(2) directly (tests).
var forceLegacy bool

// errNoNewAPI says the new mount API cannot mount this overlay.
var errNoNewAPI = errors.New("new mount API unavailable")

// mountOverlay mounts an overlay of lowers (bottom first) with upper and work
// ("" for none) on target.
func mountOverlay(lowers []string, upper, work, target string, log *slog.Logger) error {
	err := errNoNewAPI
	if !forceLegacy {
		err = mountOverlayFS(lowers, upper, work, target, log)
	}
	if !errors.Is(err, errNoNewAPI) {
		return err
	}
	data := legacyOptions(lowers, upper, work)
	if len(data) >= pageSize {
		return fmt.Errorf("mounting overlay on %s: %d layers need %d bytes of mount options, over the %d-byte limit of mount(2), and fsconfig lowerdir+ cannot be used (it needs Linux 6.8 and paths shorter than 256 bytes)",
			target, len(lowers), len(data), pageSize-1)
	}
	log.Debug("mount", "type", "overlay", "target", target, "data", data)
	if err := unix.Mount("overlay", target, "overlay", 0, data); err != nil {
		return fmt.Errorf("mounting overlay on %s: %w%s", target, err, diagnose(lowers, upper, err))
	}
	return nil
}

// legacyOptions is the mount(2) options string, with the characters the
// overlayfs option parser splits on escaped.
func legacyOptions(lowers []string, upper, work string) string {
	esc := strings.NewReplacer(`\`, `\\`, `:`, `\:`, `,`, `\,`)
	top := make([]string, len(lowers))
	for i, l := range lowers {
		top[len(lowers)-1-i] = esc.Replace(l)
	}
	data := "lowerdir=" + strings.Join(top, ":")
	if upper != "" {
		data += ",upperdir=" + esc.Replace(upper) + ",workdir=" + esc.Replace(work)
	}
	if _, err := os.Stat("/sys/module/overlay/parameters/index"); err == nil {
		data += ",index=off"
	}
	return data
}

// mountOverlayFS mounts the overlay with fsopen, fsconfig (one "lowerdir+"
// per layer, top first), fsmount and move_mount. It returns errNoNewAPI when
// the kernel lacks those or a path is too long for fsconfig.
func mountOverlayFS(lowers []string, upper, work, target string, log *slog.Logger) error {
	for _, p := range append([]string{upper, work}, lowers...) {
		if len(p) >= fsconfigMax {
			return errNoNewAPI
		}
	}
	fsfd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) {
		// EPERM: seccomp filters of some container runtimes refuse the
		// new mount API; mount(2) may still be allowed.
		return errNoNewAPI
	}
	if err != nil {
		return fmt.Errorf("mounting overlay on %s: %w%s", target, err, hint(err))
	}
	defer unix.Close(fsfd)
	fail := func(step string, err error) error {
		msg := kernelMessages(fsfd)
		if msg != "" {
			msg = " (" + msg + ")"
		} else {
			// Some refusals only go to the kernel log (pr_err).
			msg = diagnose(lowers, upper, err)
		}
		return fmt.Errorf("mounting overlay on %s: %s: %w%s", target, step, err, msg)
	}

	// Before Linux 6.5 overlayfs has no parameter parser of its own: the
	// kernel's legacy context takes any key and fails only at create, so
	// "lowerdir+" would pass here and be refused there (and a probe would
	// wrongly conclude that overlayfs does not work). A key no filesystem
	// knows tells the two apart.
	if err := unix.FsconfigSetString(fsfd, "nook-probe", "1"); err == nil {
		return errNoNewAPI
	}
	kernelMessages(fsfd) // the refusal of the probe key

	for i := len(lowers) - 1; i >= 0; i-- {
		if err := unix.FsconfigSetString(fsfd, "lowerdir+", lowers[i]); err != nil {
			if i == len(lowers)-1 && errors.Is(err, unix.EINVAL) && strings.Contains(kernelMessages(fsfd), "nknown parameter") {
				return errNoNewAPI // before Linux 6.8
			}
			return fail("layer "+lowers[i], err)
		}
	}
	if upper != "" {
		if err := unix.FsconfigSetString(fsfd, "upperdir", upper); err != nil {
			return fail("upper "+upper, err)
		}
		if err := unix.FsconfigSetString(fsfd, "workdir", work); err != nil {
			return fail("work "+work, err)
		}
	}
	// With index=on (a kernel build option) overlayfs refuses to mount an
	// upper again under different layers; nook has no use for the index.
	if err := unix.FsconfigSetString(fsfd, "index", "off"); err != nil {
		log.Debug("overlay option index=off not accepted", "err", err)
		kernelMessages(fsfd)
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return fail("creating the filesystem", err)
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return fail("fsmount", err)
	}
	defer unix.Close(mfd)
	log.Debug("mount", "type", "overlay", "target", target, "api", "fsopen", "layers", len(lowers), "lowerdir+", lowers, "upperdir", upper, "workdir", work)
	if err := unix.MoveMount(mfd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("mounting overlay on %s: move_mount: %w", target, err)
	}
	return nil
}

// kernelMessages drains the messages the kernel logged to a filesystem
// context (fsopen(2): read gives "e ", "w " or "i " lines).
func kernelMessages(fsfd int) string {
	var msgs []string
	buf := make([]byte, 1024)
	for {
		n, err := unix.Read(fsfd, buf)
		if err != nil || n <= 0 {
			break
		}
		m := string(buf[:n])
		if len(m) > 2 && m[1] == ' ' {
			m = m[2:]
		}
		msgs = append(msgs, strings.TrimSpace(m))
	}
	return strings.Join(msgs, "; ")
}

// diagnose explains an overlay mount failure the kernel gave no message
// for: it names layers on filesystems overlayfs cannot stack on, or falls
// back to hint.
func diagnose(lowers []string, upper string, err error) string {
	if !errors.Is(err, unix.EINVAL) {
		return hint(err)
	}
	var why []string
	check := func(role, p string) {
		var sfs unix.Statfs_t
		if unix.Statfs(p, &sfs) != nil {
			return
		}
		switch sfs.Type {
		case unix.PROC_SUPER_MAGIC:
			why = append(why, role+" "+p+" is on procfs, which overlayfs cannot stack on")
		case unix.OVERLAYFS_SUPER_MAGIC:
			if role == "upper" {
				why = append(why, "upper "+p+" is on overlayfs, which cannot hold an upper directory")
			} else {
				why = append(why, role+" "+p+" is on overlayfs; stacking is limited to two levels")
			}
		}
	}
	for _, l := range lowers {
		check("layer", l)
	}
	if upper != "" {
		check("upper", upper)
	}
	if len(why) == 0 {
		return hint(err)
	}
	return " (" + strings.Join(why, "; ") + ")"
}

// hint explains the errnos mount(2) gives for overlay without a reason.
func hint(err error) string {
	switch {
	case errors.Is(err, unix.ENODEV):
		return " (the kernel has no overlayfs)"
	case errors.Is(err, unix.EINVAL):
		return " (overlayfs refused the layers or the upper directory's filesystem; the kernel log says why)"
	}
	return ""
}

// probes caches overlayWorks per filesystem (device number).
var probes sync.Map

// overlayWorks reports whether overlayfs can be mounted with an upper on the
// filesystem holding dir, by mounting a small one in a scratch directory
// there, once per filesystem. ENODEV and EINVAL mean no; other errors are
// returned.
func overlayWorks(dir string, log *slog.Logger) (bool, error) {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return false, &os.PathError{Op: "stat", Path: dir, Err: err}
	}
	if v, ok := probes.Load(st.Dev); ok {
		return v.(bool), nil
	}
	tmp, err := os.MkdirTemp(dir, ".overlay-probe-")
	if err != nil {
		return false, fmt.Errorf("probing overlayfs: %w", err)
	}
	sub := func(n string) string { return filepath.Join(tmp, n) }
	for _, n := range []string{"lower", "upper", "work", "merged"} {
		if err := os.Mkdir(sub(n), 0o755); err != nil {
			os.RemoveAll(tmp)
			return false, fmt.Errorf("probing overlayfs: %w", err)
		}
	}
	err = mountOverlay([]string{sub("lower")}, sub("upper"), sub("work"), sub("merged"), log)
	works := err == nil
	switch {
	case works:
		if err := unmount(sub("merged")); err != nil {
			return false, fmt.Errorf("probing overlayfs: %w", err) // tmp left: it is mounted on
		}
	case errors.Is(err, unix.ENODEV) || errors.Is(err, unix.EINVAL):
		log.Info("overlayfs cannot be used here; container root filesystems will be copies", "dir", dir, "err", err)
	default:
		os.RemoveAll(tmp)
		return false, fmt.Errorf("probing overlayfs: %w", err)
	}
	if err := os.RemoveAll(tmp); err != nil {
		return false, fmt.Errorf("probing overlayfs: %w", err)
	}
	probes.Store(st.Dev, works)
	return works, nil
}
