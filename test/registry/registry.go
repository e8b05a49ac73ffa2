package registry

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Binary is the registry program: Debian's build of the CNCF distribution
// registry (apt install docker-registry).
const Binary = "/usr/bin/docker-registry"

// Registry is a running registry that serves plain HTTP on loopback and
// needs no authentication.
type Registry struct {
	// Addr is "127.0.0.1:PORT"; image references start with it.
	Addr string
	// Dir is where the registry stores blobs and manifests.
	Dir string

	log string // the registry's own output
}

// config is the registry's configuration: filesystem storage, deletes
// allowed (so tests can remove what they pushed), quiet logs.
const config = `version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %s
`

// Start runs a registry for the test and stops it when the test ends. It
// skips the test when the registry is not installed.
func Start(t testing.TB) *Registry {
	t.Helper()
	if _, err := os.Stat(Binary); err != nil {
		t.Skipf("%s not found: apt install docker-registry", Binary)
	}
	dir := t.TempDir()
	// The port is found free and then given to the registry, so another
	// process may take it in between: try a few times.
	var errs []string
	for range 3 {
		r, err := start(t, dir)
		if err == nil {
			return r
		}
		errs = append(errs, err.Error())
	}
	t.Fatalf("starting the registry:\n%s", strings.Join(errs, "\n"))
	return nil
}

func start(t testing.TB, dir string) (*Registry, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	r := &Registry{
		Addr: fmt.Sprintf("127.0.0.1:%d", port),
		Dir:  filepath.Join(dir, "storage"),
		log:  filepath.Join(dir, fmt.Sprintf("registry-%d.log", port)),
	}
	cfg := filepath.Join(dir, fmt.Sprintf("config-%d.yml", port))
	if err := os.WriteFile(cfg, fmt.Appendf(nil, config, r.Dir, r.Addr), 0o644); err != nil {
		return nil, err
	}
	logf, err := os.Create(r.log)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(Binary, "serve", cfg)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("running %s: %w", Binary, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop := func() {
		cmd.Process.Kill() // our own child, by its PID
		<-exited
	}

	// The registry answers GET /v2/ with 200 once it is listening.
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get("http://" + r.Addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-exited:
			return nil, fmt.Errorf("registry on %s exited: %s", r.Addr, r.Log())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("registry on %s not answering GET /v2/ after 60s: %v: %s", r.Addr, err, r.Log())
		}
	}
	t.Cleanup(stop)
	return r, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Log returns what the registry printed so far, for failure messages.
func (r *Registry) Log() string {
	b, _ := os.ReadFile(r.log)
	return string(b)
}

// Ref returns the full reference of repo in this registry: "ADDR/repo:latest"
// for "repo", "ADDR/repo:tag" for "repo:tag".
func (r *Registry) Ref(repo string) string {
	ref := r.Addr + "/" + repo
	if !strings.Contains(repo, ":") && !strings.Contains(repo, "@") {
		ref += ":latest"
	}
	return ref
}

// Digest returns the manifest digest ("sha256:...") that ref points to, as
// the registry serves it.
func (r *Registry) Digest(t testing.TB, ref string) string {
	t.Helper()
	parsed, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	desc, err := remote.Head(parsed, remote.WithContext(ctx))
	if err != nil {
		t.Fatalf("HEAD %s: %v", ref, err)
	}
	return desc.Digest.String()
}
