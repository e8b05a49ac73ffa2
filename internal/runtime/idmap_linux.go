package runtime

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nook-containers/nook/internal/runtime/initproc"
)

// Idmapped mounts ("idmap", "ridmap", a mount's uidMappings/gidMappings)
// are made here, by the runtime, before init starts, and handed to init as
// detached mounts (open_tree(2) fds) that it moves into place in spec order.
//
// Why not in init: mount_setattr(MOUNT_ATTR_IDMAP) wants CAP_SYS_ADMIN in
// the user namespace that owns the source's superblock (the host's, for a
// host directory), and an init in a user namespace of its own has it only
// there (fs/namespace.c, can_idmap_mount). The runtime has it. Moving the
// detached mount in then only needs CAP_SYS_ADMIN over init's own mount
// namespace, which init has. crun does the same; runc 1.2 makes the fds on
// request while init mounts.
//
// The source is resolved in the runtime's mount namespace, so it cannot be
// a path that an earlier mount of the same container provides.

// idmapSources opens a detached, idmapped copy of the source of every
// idmapped mount in the spec, keyed by the mount's index. On error nothing
// is left open. The caller closes the files once init has them.
func idmapSources(spec *specs.Spec, bundle string, log *slog.Logger) (_ map[int]*os.File, err error) {
	users := userNamespaces{}
	defer users.close()
	files := map[int]*os.File{}
	defer func() {
		if err != nil {
			closeFiles(files)
		}
	}()
	for i, m := range spec.Mounts {
		how, ok := initproc.IDMapOf(m)
		if !ok {
			continue
		}
		uids, gids, usernsPath, err := idmapMappings(spec, i)
		if err != nil {
			return nil, err
		}
		source := m.Source
		if !filepath.IsAbs(source) {
			source = filepath.Join(bundle, source)
		}
		flags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC)
		if how.Tree {
			flags |= unix.AT_RECURSIVE
		}
		fd, err := unix.OpenTree(unix.AT_FDCWD, source, flags)
		if err != nil {
			return nil, fmt.Errorf("mounting %s on %s: cloning the source (open_tree): %w", m.Source, m.Destination, err)
		}
		f := os.NewFile(uintptr(fd), source)
		files[i] = f

		var userns *os.File
		if usernsPath != "" {
			if userns, err = os.Open(usernsPath); err != nil {
				return nil, fmt.Errorf("mounting %s on %s: opening the container's user namespace: %w", m.Source, m.Destination, err)
			}
			defer userns.Close()
		} else if userns, err = users.get(uids, gids, log); err != nil {
			return nil, fmt.Errorf("mounting %s on %s: %w", m.Source, m.Destination, err)
		}
		setFlags := uint(unix.AT_EMPTY_PATH)
		if how.Recursive {
			setFlags |= unix.AT_RECURSIVE
		}
		log.Debug("mount_setattr", "source", source, "target", m.Destination, "attr_set", "MOUNT_ATTR_IDMAP",
			"recursive", how.Recursive, "tree", how.Tree, "uid_map", fmt.Sprint(uids), "gid_map", fmt.Sprint(gids), "userns", usernsPath)
		attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(userns.Fd())}
		if err := unix.MountSetattr(fd, "", setFlags, &attr); err != nil {
			return nil, fmt.Errorf("mounting %s on %s: idmapping the mount (mount_setattr): %w%s", m.Source, m.Destination, err, idmapHint(err))
		}
	}
	return files, nil
}

// idmapHint explains the usual reasons mount_setattr(2) refuses an idmap.
func idmapHint(err error) string {
	if errors.Is(err, unix.EINVAL) {
		return " (the filesystem may not support idmapped mounts, or a submount of an rbind source is already idmapped)"
	}
	return ""
}

// idmapMappings returns the mappings of spec.Mounts[i], an idmapped mount:
// its own, or, when it has none, the container's user namespace's — the
// mappings of a new one, or the path of a joined one (config.md: the
// runtime MAY use the container's mapping; runc and crun do).
func idmapMappings(spec *specs.Spec, i int) (uids, gids []specs.LinuxIDMapping, usernsPath string, err error) {
	m := spec.Mounts[i]
	where := fmt.Sprintf("config.json: mounts[%d] (%s)", i, m.Destination)
	if !initproc.IsBind(m) {
		return nil, nil, "", fmt.Errorf("%s: idmapped mounts must be bind mounts", where)
	}
	uids, gids = m.UIDMappings, m.GIDMappings
	switch {
	case len(uids) > 0 && len(gids) > 0:
	case len(uids) > 0 || len(gids) > 0:
		return nil, nil, "", fmt.Errorf("%s: uidMappings and gidMappings must be given together", where)
	case joinsNamespace(spec.Linux, specs.UserNamespace):
		for _, n := range spec.Linux.Namespaces {
			if n.Type == specs.UserNamespace {
				return nil, nil, n.Path, nil
			}
		}
	case ownsNamespace(spec.Linux, specs.UserNamespace):
		uids, gids = spec.Linux.UIDMappings, spec.Linux.GIDMappings
	default:
		return nil, nil, "", fmt.Errorf("%s: an idmapped mount needs uidMappings and gidMappings, or a container user namespace", where)
	}
	if err := checkIDMappings(uids); err != nil {
		return nil, nil, "", fmt.Errorf("%s: uidMappings: %w", where, err)
	}
	if err := checkIDMappings(gids); err != nil {
		return nil, nil, "", fmt.Errorf("%s: gidMappings: %w", where, err)
	}
	return uids, gids, "", nil
}

// checkIDMappings refuses what writing uid_map would refuse with a bare
// EINVAL (user_namespaces(7), "Defining user and group ID mappings"):
// empty or overflowing ranges, and ranges that overlap on either side.
func checkIDMappings(maps []specs.LinuxIDMapping) error {
	for i, a := range maps {
		if a.Size == 0 {
			return fmt.Errorf("entry %d has size 0", i)
		}
		if uint64(a.ContainerID)+uint64(a.Size) > 1<<32-1 || uint64(a.HostID)+uint64(a.Size) > 1<<32-1 {
			return fmt.Errorf("entry %d (%d %d %d) goes past the largest id", i, a.ContainerID, a.HostID, a.Size)
		}
		for j, b := range maps[:i] {
			if overlap(a.ContainerID, b.ContainerID, a.Size, b.Size) {
				return fmt.Errorf("entries %d and %d overlap in containerID", j, i)
			}
			if overlap(a.HostID, b.HostID, a.Size, b.Size) {
				return fmt.Errorf("entries %d and %d overlap in hostID", j, i)
			}
		}
	}
	return nil
}

func overlap(a, b, asize, bsize uint32) bool {
	return uint64(a) < uint64(b)+uint64(bsize) && uint64(b) < uint64(a)+uint64(asize)
}

// userNamespaces makes user namespaces with given mappings, one per
// distinct mapping, for mount_setattr(MOUNT_ATTR_IDMAP): the kernel takes
// the mapping from a user namespace fd.
type userNamespaces map[string]*os.File

// get returns an fd of a user namespace with these mappings, made by a
// child that is cloned into it, stopped before it runs a single instruction
// of the program (PTRACE_TRACEME stops it at execve), and killed once its
// /proc/PID/ns/user is open. This is runc's trick (libcontainer/userns):
// no program has to exist for the namespace's sake.
func (u userNamespaces) get(uids, gids []specs.LinuxIDMapping, log *slog.Logger) (*os.File, error) {
	key := fmt.Sprint(uids, gids)
	if f, ok := u[key]; ok {
		return f, nil
	}
	p, err := os.StartProcess("/proc/self/exe", []string{"nook-runtime-userns"}, &os.ProcAttr{
		Sys: &syscall.SysProcAttr{
			Cloneflags:  unix.CLONE_NEWUSER,
			UidMappings: idMaps(uids),
			GidMappings: idMaps(gids),
			Ptrace:      true,
			Pdeathsig:   unix.SIGKILL,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("making a user namespace for the idmapping: %w", err)
	}
	defer func() {
		p.Kill()
		p.Wait()
	}()
	f, err := os.Open(fmt.Sprintf("/proc/%d/ns/user", p.Pid))
	if err != nil {
		return nil, fmt.Errorf("opening the idmapping's user namespace: %w", err)
	}
	log.Debug("user namespace for idmapped mounts", "pid", p.Pid, "uid_map", fmt.Sprint(uids), "gid_map", fmt.Sprint(gids))
	u[key] = f
	return f, nil
}

func (u userNamespaces) close() {
	for _, f := range u {
		f.Close()
	}
}

func closeFiles(files map[int]*os.File) {
	for _, f := range files {
		f.Close()
	}
}
