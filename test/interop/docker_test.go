package interop

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go/features"
)

// dockerCLI is Debian's docker.io client, which matches its dockerd (20.10);
// /usr/local/bin/docker, first in PATH on these machines, is another client.
const dockerCLI = "/usr/bin/docker"

// dockerDaemon is a private dockerd: its own config file, data root, exec
// root, pid file and socket, a private containerd, no bridge, no iptables
// or ip_forward changes, the cgroupfs driver with cgroups under /TAG/docker,
// and nook-runtime registered as the runtime "nook" and made the default.
type dockerDaemon struct {
	dir, sock, logPath, execRoot string
	env                          []string
}

func (d *dockerDaemon) docker(args ...string) *exec.Cmd {
	cmd := exec.Command(dockerCLI, append([]string{"-H", "unix://" + d.sock}, args...)...)
	cmd.Env = d.env
	return cmd
}

func (d *dockerDaemon) log() string {
	data, _ := os.ReadFile(d.logPath)
	return string(data)
}

// startDockerd starts the private dockerd, or skips the test saying why
// (not installed, or it does not start here).
func startDockerd(t *testing.T) *dockerDaemon {
	t.Helper()
	bin, err := exec.LookPath("dockerd")
	if err != nil {
		t.Skip("dockerd is not installed (apt-get install docker.io)")
	}
	if _, err := os.Stat(dockerCLI); err != nil {
		t.Skipf("the docker.io client %s is not installed (apt-get install docker.io)", dockerCLI)
	}
	ctrdSock, _ := startContainerd(t, "")
	dir := t.TempDir()
	d := &dockerDaemon{dir: dir, sock: filepath.Join(dir, "docker.sock"), logPath: filepath.Join(dir, "dockerd.log"),
		execRoot: filepath.Join(dir, "exec")}
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "DOCKER_") {
			d.env = append(d.env, e)
		}
	}
	d.env = append(d.env, "DOCKER_CONFIG="+filepath.Join(dir, "cli"))
	cfg, _ := json.MarshalIndent(map[string]any{
		"runtimes":        map[string]any{"nook": map[string]string{"path": runtimeBin}},
		"default-runtime": "nook",
		"exec-opts":       []string{"native.cgroupdriver=cgroupfs"},
		"cgroup-parent":   "/" + tag + "/docker",
		// the daemon's identity key, /etc/docker/key.json otherwise
		"deprecated-key-path": filepath.Join(dir, "key.json"),
	}, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "daemon.json"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	// dockerd makes /run/docker/plugins whatever its exec root: remove it
	// afterwards if it was not there before.
	_, err = os.Stat("/run/docker")
	runDockerExisted := err == nil
	logf, err := os.Create(d.logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config-file", filepath.Join(dir, "daemon.json"),
		"--data-root", filepath.Join(dir, "data"), "--exec-root", d.execRoot,
		"--pidfile", filepath.Join(dir, "dockerd.pid"), "-H", "unix://"+d.sock,
		"--containerd", ctrdSock, "--bridge=none", "--iptables=false", "--ip6tables=false",
		"--ip-forward=false", "--ip-masq=false", "--userland-proxy=false")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Skipf("dockerd does not start here: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(exited) }()
	t.Cleanup(func() {
		if ids := strings.Fields(outputOf(d.docker("ps", "-aq"))); len(ids) > 0 {
			t.Logf("docker cleanup: removing containers left: %v", ids)
			d.docker(append([]string{"rm", "-f"}, ids...)...).Run()
		}
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			t.Logf("dockerd did not stop on SIGTERM within 20 s; killing it")
			cmd.Process.Kill()
			<-exited
		}
		exec.Command("umount", "-R", "-l", dir).Run()
		if !runDockerExisted {
			os.Remove("/run/docker/plugins")
			os.Remove("/run/docker")
		}
		if t.Failed() {
			t.Logf("dockerd log:\n%s", lastLines(d.log(), 40))
		}
	})
	deadline := time.Now().Add(90 * time.Second)
	for {
		if d.docker("version").Run() == nil {
			return d
		}
		select {
		case <-exited:
			t.Skipf("dockerd does not start here: it exited (%v); its log:\n%s", cmd.ProcessState, lastLines(d.log(), 30))
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Skipf("dockerd does not start here: not answering on %s after 90 s; its log:\n%s", d.sock, lastLines(d.log(), 30))
		}
	}
}

func outputOf(cmd *exec.Cmd) string {
	out, _ := cmd.Output()
	return string(out)
}

// TestDocker: a private dockerd (Debian's docker.io) with nook-runtime as
// the runtime "nook" (and the default one), the test image loaded with
// docker load: docker run in the foreground and detached, docker exec, stop,
// --memory and --pids-limit, and what dockerd reads from the runtime itself
// (--version for docker info and docker version). Skips when dockerd is not
// installed or does not start.
func TestDocker(t *testing.T) {
	needInterop(t)
	d := startDockerd(t)
	dockerArchive := filepath.Join(t.TempDir(), "image-docker.tar")
	must(t, podman("save", "--format", "docker-archive", "-o", dockerArchive, image))
	if out := must(t, d.docker("load", "-i", dockerArchive)); !strings.Contains(out, "Loaded image: "+image) {
		t.Fatalf("docker load:\n%s", out)
	}

	t.Run("Run", func(t *testing.T) {
		args := []string{"run", "--rm", "--runtime", "nook", "--network", "none", "--hostname", "dk"}
		out := must(t, d.docker(append(args, image, "sh", "-c", "echo hello from docker; hostname; echo pid $$")...))
		if out != "hello from docker\ndk\npid 1\n" {
			t.Errorf("docker run output:\n%s", out)
		}
		if r := run(t, d.docker(append(args, image, "sh", "-c", "exit 3")...)); r.code != 3 {
			t.Errorf("docker run of exit 3: exit %d\n%s", r.code, r.out)
		}
	})

	t.Run("Detached", func(t *testing.T) {
		name := fmt.Sprintf("nook-dk-%d", os.Getpid())
		t.Cleanup(func() { d.docker("rm", "-f", name).Run() })
		id := strings.TrimSpace(must(t, d.docker("run", "-d", "--runtime", "nook", "--network", "none", "--name", name, image, "sleep", "300")))
		if st := must(t, d.docker("inspect", "--format", "{{.State.Status}}", name)); strings.TrimSpace(st) != "running" {
			t.Errorf("docker inspect: %q, want running", st)
		}
		// The runc shim runs its binary with --root EXEC-ROOT/runtime-*/moby:
		// nook-runtime's state for the container is there, so nook made it.
		roots, _ := filepath.Glob(filepath.Join(d.execRoot, "runtime-*", "moby", id))
		if len(roots) != 1 {
			t.Errorf("no runtime state dir for %s under %s", id, d.execRoot)
		} else if st := must(t, exec.Command(runtimeBin, "--root", filepath.Dir(roots[0]), "state", id)); !strings.Contains(st, "running") {
			t.Errorf("nook-runtime state %s:\n%s", id, st)
		}
		if out := must(t, d.docker("exec", name, "sh", "-c", "echo exec-ok; cat /proc/1/comm")); out != "exec-ok\nsleep\n" {
			t.Errorf("docker exec:\n%s", out)
		}
		if r := run(t, d.docker("exec", name, "sh", "-c", "exit 5")); r.code != 5 {
			t.Errorf("docker exec of exit 5: exit %d\n%s", r.code, r.out)
		}
		// sleep as PID 1 ignores SIGTERM: docker stop kills it after 1 s.
		must(t, d.docker("stop", "-t", "1", name))
		if st := must(t, d.docker("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name)); strings.TrimSpace(st) != "exited 137" {
			t.Errorf("after docker stop: %q, want exited 137", st)
		}
		must(t, d.docker("rm", name))
	})

	t.Run("Resources", func(t *testing.T) {
		limits := []string{"--runtime", "nook", "--network", "none", "--memory", "64m", "--pids-limit", "50"}
		out := must(t, d.docker(append(append([]string{"run", "--rm"}, limits...), image, "sh", "-c", limitsScript)...))
		checkLimits(t, "docker run", out, 50)

		name := fmt.Sprintf("nook-dkres-%d", os.Getpid())
		t.Cleanup(func() { d.docker("rm", "-f", name).Run() })
		must(t, d.docker(append(append([]string{"run", "-d", "--name", name}, limits...), image, "sleep", "300")...))
		pid, err := strconv.Atoi(strings.TrimSpace(must(t, d.docker("inspect", "--format", "{{.State.Pid}}", name))))
		if err != nil {
			t.Fatal("docker inspect pid:", err)
		}
		checkHostLimits(t, "docker run -d", pid, 50)
		must(t, d.docker("rm", "-f", name))
	})

	t.Run("Info", func(t *testing.T) {
		// docker info and docker version run `DEFAULT-RUNTIME --version` and
		// take the version from the line with "version" in it and the commit
		// from the line "commit: ..." (runc's format).
		ver := must(t, exec.Command(runtimeBin, "--version"))
		m := regexp.MustCompile(`(?m)^commit: (\S+)$`).FindStringSubmatch(ver)
		if m == nil {
			t.Fatalf("nook-runtime --version has no commit line:\n%s", ver)
		}
		info := must(t, d.docker("info", "--format", "{{.DefaultRuntime}} {{.RuncCommit.ID}}"))
		if got, want := strings.TrimSpace(info), "nook "+m[1]; got != want {
			t.Errorf("docker info: default runtime and its commit %q, want %q", got, want)
		}
		comps := must(t, d.docker("version", "--format", "{{range .Server.Components}}{{.Name}}={{.Version}} {{.Details.GitCommit}};{{end}}"))
		t.Logf("docker info: %s; docker version's server components: %s", strings.TrimSpace(info), strings.TrimSpace(comps))
		if !strings.Contains(comps, m[1]) {
			t.Errorf("docker version: no component with nook-runtime's commit %s: %s", m[1], comps)
		}
		// dockerd warns when it cannot run or parse the runtime.
		for _, line := range strings.Split(d.log(), "\n") {
			if !strings.Contains(line, "level=warning") && !strings.Contains(line, "level=error") {
				continue
			}
			l := strings.ToLower(line)
			if strings.Contains(l, "runtime") || strings.Contains(l, "nook") || strings.Contains(l, "version") {
				t.Errorf("dockerd log: %s", line)
			} else {
				t.Logf("dockerd log (not about the runtime): %s", line)
			}
		}
	})
}

// TestRuntimeFeatures: `nook-runtime features` as Docker 25 and later read
// it at start-up (Debian's 20.10 does not ask): JSON of the runtime-spec
// features schema, whose mountOptions Docker searches for "rro" to offer
// recursively read-only bind mounts.
func TestRuntimeFeatures(t *testing.T) {
	needInterop(t)
	out, err := exec.Command(runtimeBin, "features").Output()
	if err != nil {
		t.Fatalf("nook-runtime features: %v", err)
	}
	var f features.Features
	if err := json.Unmarshal(out, &f); err != nil {
		t.Fatalf("nook-runtime features: not the runtime-spec features JSON: %v\n%s", err, out)
	}
	if f.OCIVersionMin == "" || f.OCIVersionMax == "" {
		t.Errorf("features: ociVersionMin %q, ociVersionMax %q", f.OCIVersionMin, f.OCIVersionMax)
	}
	if !slices.Contains(f.MountOptions, "rro") {
		t.Errorf("features: no \"rro\" in mountOptions %v", f.MountOptions)
	}
}
