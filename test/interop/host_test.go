package interop

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cgroupV2 tells whether this machine has a pure cgroup v2 hierarchy (the VM
// lane) rather than v1 or hybrid (the host).
func cgroupV2() bool {
	_, err := os.Stat("/sys/fs/cgroup/cgroup.controllers")
	return err == nil
}

// cgroupRoots lists the mount points of the cgroup hierarchies: /sys/fs/cgroup
// on pure v2; on v1 or hybrid, /sys/fs/cgroup/* (cpu, memory, ..., unified).
func cgroupRoots() []string {
	if cgroupV2() {
		return []string{"/sys/fs/cgroup"}
	}
	procs, _ := filepath.Glob("/sys/fs/cgroup/*/cgroup.procs")
	var roots []string
	for _, p := range procs {
		roots = append(roots, filepath.Dir(p))
	}
	return roots
}

// hostState is what a run may leave behind outside its temp dirs.
type hostState struct {
	cgroups map[string]bool // the top-level cgroups of every hierarchy
	netns   map[string]bool // /run/netns
}

func snapshotHost() hostState {
	s := hostState{cgroups: map[string]bool{}, netns: map[string]bool{}}
	for _, r := range cgroupRoots() {
		ents, _ := os.ReadDir(r)
		for _, e := range ents {
			if e.IsDir() {
				s.cgroups[filepath.Join(r, e.Name())] = true
			}
		}
	}
	ents, _ := os.ReadDir("/run/netns")
	for _, e := range ents {
		s.netns[e.Name()] = true
	}
	return s
}

// cleanHost removes the cgroups under /TAG (every container of the run had
// its cgroup there) and the runc shim's state dir of the TAG namespace, and
// reports anything it could not remove (a process still in a cgroup, a
// container's state left). It also names new top-level cgroups and network
// namespaces, which other work on the machine may have made as well, so
// they do not fail the run. Returns false if something of this run was left.
func cleanHost(before hostState) bool {
	ok := true
	for _, r := range cgroupRoots() {
		dir := filepath.Join(r, tag)
		if _, err := os.Stat(dir); err != nil {
			continue
		}
		if err := removeCgroupTree(dir); err != nil {
			fmt.Fprintf(os.Stderr, "interop: cleanup: %v\n", err)
			ok = false
		}
	}
	state := "/run/containerd/runc/" + tag
	if ents, err := os.ReadDir(state); err == nil {
		if len(ents) > 0 {
			fmt.Fprintf(os.Stderr, "interop: cleanup: %s still held %d containers' state; removed it\n", state, len(ents))
			ok = false
		}
		os.RemoveAll(state)
	}
	after := snapshotHost()
	var extra []string
	for c := range after.cgroups {
		if !before.cgroups[c] {
			extra = append(extra, c)
		}
	}
	for n := range after.netns {
		if !before.netns[n] {
			extra = append(extra, "/run/netns/"+n)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		fmt.Fprintf(os.Stderr, "interop: note: these appeared during the run (not under %s; other work on this machine?): %s\n",
			tag, strings.Join(extra, " "))
	}
	return ok
}

// removeCgroupTree removes the cgroup dir and its descendants, deepest first,
// retrying for a few seconds while the last processes leave.
func removeCgroupTree(dir string) error {
	var dirs []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	var last error
	for i := len(dirs) - 1; i >= 0; i-- {
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			err := syscall.Rmdir(dirs[i])
			if err == nil || err == syscall.ENOENT {
				break
			}
			if time.Now().After(deadline) {
				procs, _ := os.ReadFile(filepath.Join(dirs[i], "cgroup.procs"))
				last = fmt.Errorf("rmdir %s: %v (processes: %s)", dirs[i], err, strings.Join(strings.Fields(string(procs)), " "))
				break
			}
		}
	}
	return last
}

// processAlive tells whether pid is a live process (not gone, not a zombie).
func processAlive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(data)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

// killShims kills the containerd shims that still serve the containerd at
// sock (its tasks were deleted first; a shim left means one was not).
func killShims(t *testing.T, sock string) {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := strings.Split(string(data), "\x00")
		if !strings.HasPrefix(filepath.Base(args[0]), "containerd-shim") {
			continue
		}
		for i, a := range args {
			if a == "-address" && i+1 < len(args) && args[i+1] == sock {
				pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
				t.Logf("cleanup: killing shim %d left by %s: %s", pid, sock, strings.Join(args, " "))
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
}

// limitsScript prints, from inside a container, which cgroup version it
// sees and its memory and pids limits, then tries to write pids.max (each
// engine mounts the cgroup files read-only: "ro-ok"). On v2 the container's
// cgroup is the mount's root in a cgroup namespace (Podman, Docker), or the
// path /proc/self/cgroup names without one (ctr's spec has none).
const limitsScript = `if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  p=/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup)
  echo cgroup=v2 mem=$(cat $p/memory.max) pids=$(cat $p/pids.max)
  echo x > $p/pids.max 2>/dev/null || echo ro-ok
else
  echo cgroup=v1 mem=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes) pids=$(cat /sys/fs/cgroup/pids/pids.max)
  echo x > /sys/fs/cgroup/pids/pids.max 2>/dev/null || echo ro-ok
fi`

// checkLimits checks limitsScript's output against a 64 MiB memory limit and
// pids (0: not checked), on the cgroup version of this machine.
func checkLimits(t *testing.T, what, out string, pids int) {
	t.Helper()
	mode := "v1"
	if cgroupV2() {
		mode = "v2"
	}
	want := fmt.Sprintf("cgroup=%s mem=67108864 pids=%d\n", mode, pids)
	if pids == 0 {
		want = fmt.Sprintf("cgroup=%s mem=67108864 ", mode)
	}
	if !strings.Contains(out, want) {
		t.Errorf("%s: cgroup limits seen inside: want %q, got:\n%s", what, want, out)
	}
	if !strings.Contains(out, "ro-ok") {
		t.Errorf("%s: the container could write its cgroup files:\n%s", what, out)
	}
}

// checkHostLimits reads, from the host's side, the memory (64 MiB) and pids
// (0: not checked) limits of the cgroup process pid lives in, and checks that
// the cgroup is under /TAG.
func checkHostLimits(t *testing.T, what string, pid, pids int) {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	files := map[string]string{} // limit -> file
	var paths []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		switch {
		case cgroupV2() && f[0] == "0":
			files["mem"] = filepath.Join("/sys/fs/cgroup", f[2], "memory.max")
			files["pids"] = filepath.Join("/sys/fs/cgroup", f[2], "pids.max")
			paths = append(paths, f[2])
		case !cgroupV2() && f[1] == "memory":
			files["mem"] = filepath.Join("/sys/fs/cgroup/memory", f[2], "memory.limit_in_bytes")
			paths = append(paths, f[2])
		case !cgroupV2() && f[1] == "pids":
			files["pids"] = filepath.Join("/sys/fs/cgroup/pids", f[2], "pids.max")
		}
	}
	for _, p := range paths {
		if !strings.HasPrefix(p, "/"+tag+"/") {
			t.Errorf("%s: process %d is in cgroup %s, not under /%s", what, pid, p, tag)
		}
	}
	want := map[string]string{"mem": "67108864", "pids": strconv.Itoa(pids)}
	for _, k := range []string{"mem", "pids"} {
		if k == "pids" && pids == 0 {
			continue
		}
		got, err := os.ReadFile(files[k])
		if err != nil || strings.TrimSpace(string(got)) != want[k] {
			t.Errorf("%s: host side: %s = %q (%v), want %s\n/proc/%d/cgroup:\n%s", what, files[k], got, err, want[k], pid, data)
		}
	}
}
