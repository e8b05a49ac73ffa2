package interop

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	runtimeBin = os.Getenv("NOOK_RUNTIME")
	probeBin   = os.Getenv("NOOK_PROBE")
	// image is a busybox image imported once into a private Podman store,
	// and saved as an OCI archive for containerd.
	image   = "localhost/nook-interop:latest"
	work    string
	archive string
	// tag names what this run makes outside its temp dirs: the parent
	// cgroup of every container (Podman's --cgroup-parent, ctr's namespace,
	// dockerd's --cgroup-parent), and the ctr namespace (so the runc shim's
	// --root is /run/containerd/runc/TAG, not the shared .../default).
	tag = fmt.Sprintf("nook-interop-%d", os.Getpid())
)

// This sandbox's processes lack CAP_SYS_RESOURCE, so no runtime (runc
// included) may raise RLIMIT_NOFILE/NPROC to Podman's defaults of 1048576:
// ask for limits under the current hard limit.
var podmanUlimits = []string{"--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"}

func TestMain(m *testing.M) {
	_, errP := exec.LookPath("podman")
	_, errC := exec.LookPath("containerd")
	if os.Geteuid() != 0 || runtimeBin == "" || probeBin == "" || errP != nil || errC != nil {
		fmt.Println("interop: skipped (needs root, NOOK_RUNTIME, NOOK_PROBE, podman and containerd; see make test-interop)")
		os.Exit(m.Run())
	}
	var err error
	work, err = os.MkdirTemp("", "nook-interop-")
	if err != nil {
		panic(err)
	}
	code := 1
	before := snapshotHost()
	if err = setupImage(); err != nil {
		fmt.Fprintln(os.Stderr, "interop: making the test image:", err)
	} else {
		code = m.Run()
	}
	podman("image", "rm", "-af").Run()
	exec.Command("umount", "-R", "-l", work).Run() // nothing should be left; be sure
	os.RemoveAll(work)
	if !cleanHost(before) && code == 0 {
		code = 1
	}
	os.Exit(code)
}

func needInterop(t *testing.T) {
	t.Helper()
	if work == "" {
		t.Skip("needs root, NOOK_RUNTIME, NOOK_PROBE, podman and containerd")
	}
}

// podman runs podman with a private store and nook-runtime as its runtime.
// Its containers (and conmon) get cgroups under /TAG instead of the shared
// /libpod_parent.
func podman(args ...string) *exec.Cmd {
	base := []string{
		"--root", filepath.Join(work, "podman/storage"), "--runroot", filepath.Join(work, "podman/run"),
		"--cgroup-manager", "cgroupfs", "--events-backend", "none", "--runtime", runtimeBin,
		"--tmpdir", filepath.Join(work, "podman/tmp"),
	}
	if len(args) > 0 && (args[0] == "run" || args[0] == "create") {
		args = append([]string{args[0], "--cgroup-parent", "/" + tag}, args[1:]...)
	}
	return exec.Command("podman", append(base, args...)...)
}

// ctrCmd runs ctr against the containerd at sock, in the namespace TAG.
func ctrCmd(sock string, args ...string) *exec.Cmd {
	return exec.Command("ctr", append([]string{"-a", sock, "-n", tag}, args...)...)
}

// setupImage imports a busybox rootfs (plus the probe) into Podman and saves
// it as an OCI archive for containerd.
func setupImage() error {
	rootfs := filepath.Join(work, "rootfs")
	if err := os.MkdirAll(filepath.Join(rootfs, "bin"), 0o755); err != nil {
		return err
	}
	for src, dst := range map[string]string{"/bin/busybox": "bin/busybox", probeBin: "probe"} {
		data, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(rootfs, dst), data, 0o755); err != nil {
			return err
		}
	}
	out, err := exec.Command("/bin/busybox", "--list").Output()
	if err != nil {
		return err
	}
	for _, a := range strings.Fields(string(out)) {
		if a != "busybox" {
			os.Symlink("busybox", filepath.Join(rootfs, "bin", a))
		}
	}
	for _, d := range []string{"tmp", "etc", "proc", "sys", "dev"} {
		os.MkdirAll(filepath.Join(rootfs, d), 0o755)
	}
	tarball := filepath.Join(work, "rootfs.tar")
	if out, err := exec.Command("tar", "-C", rootfs, "-cf", tarball, ".").CombinedOutput(); err != nil {
		return fmt.Errorf("tar: %v: %s", err, out)
	}
	if out, err := podman("import", "--change", "CMD=/bin/sh", tarball, image).CombinedOutput(); err != nil {
		return fmt.Errorf("podman import: %v: %s", err, out)
	}
	archive = filepath.Join(work, "image.tar")
	if out, err := podman("save", "--format", "oci-archive", "-o", archive, image).CombinedOutput(); err != nil {
		return fmt.Errorf("podman save: %v: %s", err, out)
	}
	return nil
}

type result struct {
	out  string
	code int
}

// run runs cmd with a deadline and returns its combined output and status.
func run(t *testing.T, cmd *exec.Cmd) result {
	t.Helper()
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(90 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%s: timed out; output:\n%s", strings.Join(cmd.Args, " "), b.String())
	}
	return result{b.String(), cmd.ProcessState.ExitCode()}
}

func must(t *testing.T, cmd *exec.Cmd) string {
	t.Helper()
	r := run(t, cmd)
	if r.code != 0 {
		t.Fatalf("%s: exit %d\n%s", strings.Join(cmd.Args, " "), r.code, r.out)
	}
	return r.out
}

// TestPodmanRun: podman run --runtime nook-runtime, in the foreground and
// detached, with the exit status carried through.
func TestPodmanRun(t *testing.T) {
	needInterop(t)
	args := append([]string{"run", "--rm", "--network", "none", "--hostname", "pod"}, podmanUlimits...)
	out := must(t, podman(append(args, image, "sh", "-c", "echo hello from podman; hostname; echo pid $$")...))
	if !strings.Contains(out, "hello from podman\npod\npid 1\n") {
		t.Errorf("podman run output:\n%s", out)
	}
	if r := run(t, podman(append(args, image, "sh", "-c", "exit 3")...)); r.code != 3 {
		t.Errorf("podman run of exit 3: exit %d\n%s", r.code, r.out)
	}

	name := fmt.Sprintf("nook-it-%d", os.Getpid())
	t.Cleanup(func() { podman("rm", "-f", "-t", "0", name).Run() })
	dargs := append([]string{"run", "-d", "--name", name, "--network", "none"}, podmanUlimits...)
	must(t, podman(append(dargs, image, "sleep", "300")...))
	if st := must(t, podman("inspect", "--format", "{{.State.Status}}", name)); strings.TrimSpace(st) != "running" {
		t.Errorf("podman inspect: %q, want running", st)
	}
	if out := must(t, podman("exec", name, "sh", "-c", "echo exec-ok; cat /proc/1/comm")); out != "exec-ok\nsleep\n" {
		t.Errorf("podman exec:\n%s", out)
	}
	if r := run(t, podman("exec", name, "sh", "-c", "exit 5")); r.code != 5 {
		t.Errorf("podman exec of exit 5: exit %d\n%s", r.code, r.out)
	}
	must(t, podman("stop", "-t", "1", name))
	if st := must(t, podman("inspect", "--format", "{{.State.Status}}", name)); strings.TrimSpace(st) != "exited" {
		t.Errorf("after stop: %q, want exited", st)
	}
	must(t, podman("rm", name))
}

// containerd starts a private containerd and returns its socket.
func containerd(t *testing.T) string {
	t.Helper()
	sock, _ := containerdWith(t, "")
	return sock
}

// containerdWith starts a private containerd with extra appended to its
// config.toml, imports the test image, and returns its socket and its log
// file.
func containerdWith(t *testing.T, extra string) (sock, logPath string) {
	t.Helper()
	sock, logPath = startContainerd(t, extra)
	must(t, ctrCmd(sock, "images", "import", archive))
	return sock, logPath
}

// startContainerd starts a private containerd (its own root, state and
// sockets in a temp dir) with extra appended to its config.toml. When the
// test ends, it kills and deletes what tasks are left in any namespace (the
// shims outlive containerd otherwise), kills the shims that still serve it,
// then containerd, and unmounts what is left under its dir.
func startContainerd(t *testing.T, extra string) (sock, logPath string) {
	t.Helper()
	dir := t.TempDir()
	sock = filepath.Join(dir, "containerd.sock")
	logPath = filepath.Join(dir, "containerd.log")
	cfg := fmt.Sprintf("version = 2\nroot = %q\nstate = %q\n[grpc]\n  address = %q\n[ttrpc]\n  address = %q\n",
		filepath.Join(dir, "root"), filepath.Join(dir, "state"), sock, sock+".ttrpc") + extra
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, _ := os.Create(logPath)
	cmd := exec.Command("containerd", "--config", filepath.Join(dir, "config.toml"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctrQuiet := func(ns string, args ...string) string {
			c := exec.Command("ctr", append([]string{"-a", sock, "-n", ns, "--timeout", "20s"}, args...)...)
			out, _ := c.Output()
			return string(out)
		}
		for _, ns := range strings.Fields(ctrQuiet("default", "namespaces", "ls", "-q")) {
			for _, id := range strings.Fields(ctrQuiet(ns, "task", "ls", "-q")) {
				t.Logf("containerd cleanup: task %s/%s was left; killing it", ns, id)
				ctrQuiet(ns, "task", "kill", "-s", "KILL", id)
				ctrQuiet(ns, "task", "delete", "-f", id)
			}
			for _, id := range strings.Fields(ctrQuiet(ns, "container", "ls", "-q")) {
				ctrQuiet(ns, "container", "delete", id)
			}
		}
		killShims(t, sock)
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
		exec.Command("umount", "-R", "-l", dir).Run()
		if t.Failed() {
			data, _ := os.ReadFile(logPath)
			t.Logf("containerd log:\n%s", lastLines(string(data), 30))
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if ctrCmd(sock, "version").Run() == nil {
			return sock, logPath
		}
		if !processAlive(cmd.Process.Pid) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	data, _ := os.ReadFile(logPath)
	t.Fatalf("containerd did not come up; its log:\n%s", lastLines(string(data), 30))
	return "", ""
}

// taskRow returns task id's PID and STATUS columns of ctr task ls, or 0
// and "" when it is not listed.
func taskRow(t *testing.T, sock, id string) (int, string) {
	t.Helper()
	for _, line := range strings.Split(must(t, ctrCmd(sock, "task", "ls")), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == id {
			pid, _ := strconv.Atoi(f[1])
			return pid, f[2]
		}
	}
	return 0, ""
}

// taskPid returns the host pid of the running task id.
func taskPid(t *testing.T, sock, id string) int {
	t.Helper()
	pid, _ := taskRow(t, sock, id)
	if pid == 0 {
		t.Fatalf("no pid for %s in ctr task ls:\n%s", id, must(t, ctrCmd(sock, "task", "ls")))
	}
	return pid
}

// cleanupTask kills and deletes task and container id when the test ends,
// whatever state the test left them in.
func cleanupTask(t *testing.T, sock, id string) {
	t.Cleanup(func() {
		ctrCmd(sock, "task", "kill", "-s", "KILL", id).Run()
		ctrCmd(sock, "task", "delete", "-f", id).Run()
		ctrCmd(sock, "container", "delete", id).Run()
	})
}

// stopTask kills task id, waits until it is STOPPED, and deletes the task
// and its container. SIGKILL: a sleep as PID 1 has no SIGTERM handler, and
// the kernel drops such signals to a namespace's init.
func stopTask(t *testing.T, sock, id string) {
	t.Helper()
	must(t, ctrCmd(sock, "task", "kill", "-s", "KILL", id))
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if _, st := taskRow(t, sock, id); st == "STOPPED" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not stop:\n%s", id, must(t, ctrCmd(sock, "task", "ls")))
		}
	}
	must(t, ctrCmd(sock, "task", "delete", id))
	must(t, ctrCmd(sock, "container", "delete", id))
}

// TestContainerdRun: ctr run with nook-runtime as the runc shim's binary,
// foreground and detached (task kill, task delete), exit status carried
// through.
func TestContainerdRun(t *testing.T) {
	needInterop(t)
	sock := containerd(t)
	ctr := func(args ...string) *exec.Cmd { return ctrCmd(sock, args...) }
	out := must(t, ctr("run", "--rm", "--runc-binary", runtimeBin, image, "c1", "sh", "-c", "echo hello from containerd; echo pid $$"))
	if !strings.Contains(out, "hello from containerd\npid 1\n") {
		t.Errorf("ctr run output:\n%s", out)
	}
	if r := run(t, ctr("run", "--rm", "--runc-binary", runtimeBin, image, "c2", "sh", "-c", "exit 4")); r.code != 4 {
		t.Errorf("ctr run of exit 4: exit %d\n%s", r.code, r.out)
	}
	must(t, ctr("run", "-d", "--runc-binary", runtimeBin, image, "c3", "sleep", "300"))
	cleanupTask(t, sock, "c3")
	if out := must(t, ctr("task", "ls")); !strings.Contains(out, "c3") || !strings.Contains(out, "RUNNING") {
		t.Errorf("ctr task ls:\n%s", out)
	}
	if out := must(t, ctr("task", "exec", "--exec-id", "e1", "c3", "sh", "-c", "echo exec-ok; cat /proc/1/comm")); out != "exec-ok\nsleep\n" {
		t.Errorf("ctr task exec:\n%s", out)
	}
	if out := must(t, ctr("task", "ps", "c3")); len(strings.Fields(out)) < 4 {
		t.Errorf("ctr task ps:\n%s", out)
	}
	must(t, ctr("task", "pause", "c3"))
	if out := must(t, ctr("task", "ls")); !strings.Contains(out, "PAUSED") {
		t.Errorf("after pause:\n%s", out)
	}
	must(t, ctr("task", "resume", "c3"))
	stopTask(t, sock, "c3")
}

// TestContainerdResources: ctr run --memory-limit reaches the container's
// cgroup, on this machine's cgroup version: seen from inside (through a
// read-only cgroup mount, which ctr's default spec lacks and the CRI plugin
// adds) and from the host's side. ctr 1.6 has no flag for a pids limit.
func TestContainerdResources(t *testing.T) {
	needInterop(t)
	sock := containerd(t)
	ctr := func(args ...string) *exec.Cmd { return ctrCmd(sock, args...) }
	must(t, ctr("run", "-d", "--runc-binary", runtimeBin, "--memory-limit", "67108864",
		"--mount", "type=cgroup,src=cgroup,dst=/sys/fs/cgroup,options=ro", image, "r1", "sleep", "300"))
	cleanupTask(t, sock, "r1")
	checkLimits(t, "ctr task exec", must(t, ctr("task", "exec", "--exec-id", "lim", "r1", "sh", "-c", limitsScript)), 0)
	checkHostLimits(t, "ctr run -d --memory-limit", taskPid(t, sock, "r1"), 0)
	stopTask(t, sock, "r1")
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
