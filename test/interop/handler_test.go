package interop

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// nookHandlerConfig is the runtime handler section of docs/kubernetes.md,
// with BinaryName pointing at the binary under test instead of
// /usr/local/bin/nook-runtime. A config.toml that names any runtime replaces
// the built-in table, so the default "runc" handler must be listed too, or
// the CRI plugin refuses to load ("no corresponding runtime configured in
// containerd.runtimes for default_runtime_name").
func nookHandlerConfig(bin string) string {
	return fmt.Sprintf(`
[plugins."io.containerd.grpc.v1.cri".containerd]
  default_runtime_name = "runc"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nook]
  runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nook.options]
    BinaryName = %q
    SystemdCgroup = false
`, bin)
}

// TestContainerdRuntimeHandler: a private containerd 1.6 started with the
// "nook" runtime handler of docs/kubernetes.md in its config.toml. Checks
// that the CRI plugin comes up with it (status ok, and the handler, its
// runtime_type and BinaryName in the config the plugin logs), then runs
// containers through the same shim and BinaryName with ctr (there is no
// kubelet or crictl here to call the CRI API) and checks from nook-runtime's
// own state that nook made them.
func TestContainerdRuntimeHandler(t *testing.T) {
	needInterop(t)
	sock, logPath := containerdWith(t, nookHandlerConfig(runtimeBin))
	ctr := func(args ...string) *exec.Cmd { return ctrCmd(sock, args...) }

	plugins := must(t, ctr("plugins", "ls"))
	if !regexp.MustCompile(`(?m)^io\.containerd\.grpc\.v1\s+cri\s+\S+\s+ok\s*$`).MatchString(plugins) {
		t.Errorf("the CRI plugin is not ok with the nook handler:\n%s", plugins)
	}
	var logged string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		data, _ := os.ReadFile(logPath)
		if logged = string(data); strings.Contains(logged, "Start cri plugin with config") {
			break
		}
	}
	want := "nook:{Type:io.containerd.runc.v2 "
	if !strings.Contains(logged, want) || !strings.Contains(logged, "BinaryName:"+runtimeBin+" ") ||
		!regexp.MustCompile(`nook:\{[^}]*SystemdCgroup:false`).MatchString(logged) {
		t.Errorf("the CRI plugin's config lacks the nook handler (%q, BinaryName:%s, SystemdCgroup:false)", want, runtimeBin)
	}

	// The handler's runtime_type and BinaryName, as ctr spells them.
	rt := []string{"--runtime", "io.containerd.runc.v2", "--runc-binary", runtimeBin}
	out := must(t, ctr(append(append([]string{"run", "--rm"}, rt...), image, "h1", "sh", "-c", "echo via-handler; echo pid $$")...))
	if !strings.Contains(out, "via-handler\npid 1\n") {
		t.Errorf("ctr run --runtime io.containerd.runc.v2 --runc-binary:\n%s", out)
	}
	must(t, ctr(append(append([]string{"run", "-d"}, rt...), image, "h2", "sleep", "300")...))
	cleanupTask(t, sock, "h2")
	// The runc shim gives its binary --root /run/containerd/runc/NAMESPACE:
	// nook-runtime's state for h2 is there, so nook (not runc) made it.
	state := must(t, exec.Command(runtimeBin, "--root", "/run/containerd/runc/"+tag, "state", "h2"))
	if !strings.Contains(state, `"id": "h2"`) && !strings.Contains(state, `"id":"h2"`) || !strings.Contains(state, "running") {
		t.Errorf("nook-runtime state h2:\n%s", state)
	}
	stopTask(t, sock, "h2")
}
