package interop

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nook-containers/nook/test/nooktest"
)

// The engines with their systemd cgroup drivers, which make nook-runtime
// run with --systemd-cgroup: containerd's runc shim with SystemdCgroup
// (Kubernetes' default on systemd hosts), Podman's default
// --cgroup-manager=systemd. They need systemd as PID 1, which these
// machines lack: `make test-systemd` runs them in a VM booted with it
// (NOOK_WANT_SYSTEMD=1 there turns a missing systemd into a failure).

func needSystemd(t *testing.T) {
	t.Helper()
	needInterop(t)
	nooktest.RequireSystemd(t)
}

// checkUnit checks that pid lives in unit's cgroup, that the unit is an
// active delegated scope, and that the 64 MiB memory limit is both the
// unit's property and the cgroup's file.
func checkUnit(t *testing.T, what string, pid int, unit string) {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	var memFile string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.SplitN(line, ":", 3)
		switch {
		case len(f) != 3:
		case cgroupV2() && f[0] == "0":
			memFile = filepath.Join("/sys/fs/cgroup", f[2], "memory.max")
		case !cgroupV2() && f[1] == "memory":
			memFile = filepath.Join("/sys/fs/cgroup/memory", f[2], "memory.limit_in_bytes")
		}
		if len(f) == 3 && (f[0] == "0" || f[1] == "memory") && filepath.Base(f[2]) != unit {
			t.Errorf("%s: process %d is in %s, not in %s", what, pid, f[2], unit)
		}
	}
	if b, err := os.ReadFile(memFile); err != nil || strings.TrimSpace(string(b)) != "67108864" {
		t.Errorf("%s: %s = %q (%v), want 67108864", what, memFile, b, err)
	}
	p := nooktest.UnitProps(t, unit, "ActiveState", "Delegate", "MemoryMax", "MemoryLimit")
	mem := p["MemoryMax"]
	if !cgroupV2() {
		mem = p["MemoryLimit"]
	}
	if p["ActiveState"] != "active" || p["Delegate"] != "yes" || mem != "67108864" {
		t.Errorf("%s: unit %s: %v, want active, Delegate=yes, memory limit 67108864", what, unit, p)
	}
}

// unitGone waits until systemd no longer has unit active.
func unitGone(t *testing.T, what, unit string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		p := nooktest.UnitProps(t, unit, "ActiveState")
		if p["ActiveState"] != "active" && p["ActiveState"] != "deactivating" {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s: unit %s still %s", what, unit, p["ActiveState"])
			return
		}
	}
}

// TestContainerdSystemdCgroup: ctr run --runc-systemd-cgroup --cgroup
// slice:prefix:name (what the runc shim's SystemdCgroup option and the
// kubelet's systemd driver do): nook-runtime makes the scope, with the
// memory limit; exec, pause, kill, delete; the scope is gone after.
func TestContainerdSystemdCgroup(t *testing.T) {
	needSystemd(t)
	sock := containerd(t)
	ctr := func(args ...string) *exec.Cmd { return ctrCmd(sock, args...) }
	unit := tag + "-s1.scope"
	rt := []string{"--runc-binary", runtimeBin, "--runc-systemd-cgroup", "--cgroup", "system.slice:" + tag + ":s1"}
	must(t, ctr(append(append([]string{"run", "-d", "--memory-limit", "67108864"}, rt...), image, "s1", "sleep", "300")...))
	cleanupTask(t, sock, "s1")
	checkUnit(t, "ctr run --runc-systemd-cgroup", taskPid(t, sock, "s1"), unit)
	if out := must(t, ctr("task", "exec", "--exec-id", "e1", "s1", "sh", "-c", "echo exec-ok")); out != "exec-ok\n" {
		t.Errorf("ctr task exec: %q", out)
	}
	must(t, ctr("task", "pause", "s1"))
	if out := must(t, ctr("task", "ls")); !strings.Contains(out, "PAUSED") {
		t.Errorf("after pause:\n%s", out)
	}
	must(t, ctr("task", "resume", "s1"))
	// the foreground form, through the same driver
	if out := must(t, ctr(append(append([]string{"run", "--rm"}, rt[:3]...), "--cgroup", "system.slice:"+tag+":s2",
		image, "s2", "sh", "-c", "echo fg-ok")...)); !strings.Contains(out, "fg-ok") {
		t.Errorf("ctr run --rm --runc-systemd-cgroup: %q", out)
	}
	stopTask(t, sock, "s1")
	unitGone(t, "after ctr task delete", unit)
	unitGone(t, "after ctr run --rm", tag+"-s2.scope")
}

// podmanSystemd is podman with its systemd cgroup manager (its default on a
// systemd host): containers in machine.slice as libpod-ID.scope, conmon in
// a scope of its own, nook-runtime called with --systemd-cgroup.
func podmanSystemd(args ...string) *exec.Cmd {
	cmd := podman(args...)
	for i, a := range cmd.Args {
		if a == "--cgroup-manager" {
			cmd.Args[i+1] = "systemd"
		}
		if a == "--cgroup-parent" { // podman's helper puts run and create under /TAG
			cmd.Args = append(cmd.Args[:i:i], cmd.Args[i+2:]...)
			break
		}
	}
	return cmd
}

// TestPodmanSystemdCgroup: podman --cgroup-manager=systemd run with
// --memory and --pids-limit, foreground and detached, exec, rm.
func TestPodmanSystemdCgroup(t *testing.T) {
	needSystemd(t)
	limits := []string{"--network", "none", "--memory", "64m", "--pids-limit", "50"}
	args := append(append([]string{"run", "--rm"}, limits...), podmanUlimits...)
	out := must(t, podmanSystemd(append(args, image, "sh", "-c", limitsScript)...))
	checkLimits(t, "podman --cgroup-manager=systemd run", out, 50)

	name := fmt.Sprintf("nook-sd-%d", os.Getpid())
	t.Cleanup(func() { podmanSystemd("rm", "-f", "-t", "0", name).Run() })
	dargs := append(append([]string{"run", "-d", "--name", name}, limits...), podmanUlimits...)
	must(t, podmanSystemd(append(dargs, image, "sleep", "300")...))
	info := strings.Fields(must(t, podmanSystemd("inspect", "--format", "{{.State.Pid}} {{.Id}}", name)))
	if len(info) != 2 {
		t.Fatalf("podman inspect: %q", info)
	}
	pid, _ := strconv.Atoi(info[0])
	unit := "libpod-" + info[1] + ".scope"
	checkUnit(t, "podman --cgroup-manager=systemd run -d", pid, unit)
	if out := must(t, podmanSystemd("exec", name, "sh", "-c", "echo exec-ok")); out != "exec-ok\n" {
		t.Errorf("podman exec: %q", out)
	}
	must(t, podmanSystemd("rm", "-f", "-t", "0", name))
	unitGone(t, "after podman rm", unit)
}
