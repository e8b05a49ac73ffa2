package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nook-containers/nook/test/registry"
)

// debianBuild bounds hack/debian-rootfs.sh: about a minute to build its
// cache from deb.debian.org, well under a second once it is there.
const debianBuild = 8 * time.Minute

// TestDebianPython: a real distribution, not busybox. A Debian bookworm
// debootstrap (minbase, python3) pushed as a two-layer image — the root
// filesystem, then /srv/index.html — is pulled, and Python's http.server
// published with -p HOSTPORT:8000 serves the page to the host on
// 127.0.0.1:HOSTPORT and on the container's own address; logs shows the
// requests and exec runs python3 beside it.
func TestDebianPython(t *testing.T) {
	if os.Getenv("NOOK_SKIP_DEBIAN") != "" {
		t.Skip("NOOK_SKIP_DEBIAN is set")
	}
	e := newEngine(t)
	rootfs := debianRootfs(t, e.dir)
	reg := registry.Start(t)
	const page = "<html><body>hello from nook</body></html>\n"
	ref := registry.PushRootfs(t, reg, "debian:bookworm-python", rootfs, []string{"bash"},
		registry.Dir("srv/", 0), registry.File("srv/index.html", page, 0))
	os.Remove(rootfs) // 160 MB the test needs no more
	e.must("pull", ref)
	if n := imageLayers(t, e, ref); n != 2 {
		t.Errorf("image inspect: %d layers, want 2", n)
	}

	if got := e.must("run", "--rm", ref, "cat", "/etc/os-release"); !strings.Contains(got, "VERSION_CODENAME=bookworm") {
		t.Errorf("/etc/os-release does not say bookworm:\n%s", got)
	}

	port := freeHostPort(t)
	e.runD("--name", "web", "-p", fmt.Sprintf("%d:8000", port), "-w", "/srv", ref, "python3", "-m", "http.server", "8000")
	ip := containerIP(t, e, "web")
	for _, url := range []string{
		fmt.Sprintf("http://127.0.0.1:%d/index.html", port),
		fmt.Sprintf("http://%s/index.html", net.JoinHostPort(ip, "8000")),
	} {
		waitFor(t, "GET "+url, func() (bool, string) {
			body, err := fetch(url)
			if err != nil {
				if c := e.inspect("web"); !c.State.Running {
					t.Fatalf("the server is not running (%+v); logs:\n%s", c.State, e.nook("logs", "web"))
				}
				return false, err.Error()
			}
			return body == page, fmt.Sprintf("body %q, want %q", body, page)
		})
	}
	// http.server logs each request on stderr: `ADDR - - [date] "GET
	// /index.html HTTP/1.1" 200 -`.
	waitFor(t, "logs to show both GETs", func() (bool, string) {
		r := e.nook("logs", "web")
		return strings.Count(r.Stdout+r.Stderr, `"GET /index.html HTTP/1.1" 200`) >= 2, r.String()
	})
	if got := e.must("exec", "web", "python3", "-c", "import sys; print(sys.version)"); !strings.HasPrefix(got, "3.11.") {
		t.Errorf("exec python3: sys.version is %q, want bookworm's 3.11", got)
	}
	// Python as PID 1 has no handler for SIGTERM, which the kernel then
	// does not deliver (pid_namespaces(7)): stop kills it after -t.
	e.must("stop", "-t", "1", "web")
	e.must("rm", "web")
}

// debianRootfs runs hack/debian-rootfs.sh to write the Debian tarball into
// dir and returns its path; it skips the test when the tarball cannot be
// made (no debootstrap, no network to deb.debian.org).
func debianRootfs(t *testing.T, dir string) string {
	t.Helper()
	script, err := filepath.Abs("../../hack/debian-rootfs.sh")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "debian.tar")
	ctx, cancel := context.WithTimeout(context.Background(), debianBuild)
	defer cancel()
	cmd := exec.CommandContext(ctx, script, out)
	// Its own process group, so that a timeout stops debootstrap too; TERM
	// lets the script unmount and remove its half-built tree.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = time.Minute
	start := time.Now()
	output, err := cmd.CombinedOutput()
	if err != nil {
		t.Skipf("no Debian rootfs (%s %s: %v, after %v):\n%s", script, out, err, time.Since(start).Round(time.Second), output)
	}
	t.Logf("debian-rootfs.sh: %v\n%s", time.Since(start).Round(time.Millisecond), output)
	return out
}

// imageLayers is the number of layers `image inspect` lists for ref, in
// Docker's RootFS.Layers or, failing that, in the OCI config's
// rootfs.diff_ids.
func imageLayers(t *testing.T, e *engine, ref string) int {
	t.Helper()
	var imgs []struct {
		RootFS struct {
			Layers  []string
			DiffIDs []string `json:"diff_ids"`
		}
	}
	out := e.must("image", "inspect", ref)
	if err := json.Unmarshal([]byte(out), &imgs); err != nil || len(imgs) != 1 {
		t.Fatalf("image inspect: want a JSON array of one image: %v\n%s", err, out)
	}
	return max(len(imgs[0].RootFS.Layers), len(imgs[0].RootFS.DiffIDs))
}

// containerIP is inspect's .NetworkSettings.IPAddress.
func containerIP(t *testing.T, e *engine, name string) string {
	t.Helper()
	var cs []struct{ NetworkSettings struct{ IPAddress string } }
	out := e.must("inspect", name)
	if err := json.Unmarshal([]byte(out), &cs); err != nil || len(cs) != 1 || cs[0].NetworkSettings.IPAddress == "" {
		t.Fatalf("inspect %s: want one container with an IP address: %v\n%s", name, err, out)
	}
	return cs[0].NetworkSettings.IPAddress
}

// freeHostPort is a TCP port free on loopback a moment ago.
func freeHostPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// direct is an HTTP client that never uses a proxy: the tests talk only to
// loopback and to containers.
var direct = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}

// fetch GETs url and returns the body of a 200 response.
func fetch(url string) (string, error) {
	resp, err := direct.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s: %q", url, resp.Status, body)
	}
	return string(body), nil
}
