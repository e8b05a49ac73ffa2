package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVolumeSurvivesRm: a named volume keeps its data across containers.
func TestVolumeSurvivesRm(t *testing.T) {
	e := newEngine(t)
	e.must("run", "--name", "writer", "-v", "vol1:/data", builtin, "sh", "-c", "echo kept > /data/f")
	e.must("rm", "writer")
	if got := e.must("run", "--rm", "-v", "vol1:/data", builtin, "cat", "/data/f"); got != "kept" {
		t.Errorf("the volume has %q after rm, want kept", got)
	}
	if out := e.must("volume", "ls"); !strings.Contains(out, "vol1") {
		t.Errorf("volume ls does not list vol1:\n%s", out)
	}

	e.must("volume", "create", "vol2")
	e.must("run", "--rm", "--mount", "type=volume,src=vol2,dst=/v", builtin, "sh", "-c", "echo two > /v/f")
	if got := e.must("run", "--rm", "--mount", "type=volume,source=vol2,target=/w,readonly", builtin, "cat", "/w/f"); got != "two" {
		t.Errorf("vol2 through --mount: %q", got)
	}

	e.runD("--name", "holder", "-v", "vol2:/v", builtin, "sleep", "1000")
	wantError(t, e.nook("volume", "rm", "vol2"), "vol2")
	e.must("rm", "-f", "holder")
	e.must("volume", "rm", "vol1", "vol2")
	if out := e.must("volume", "ls"); strings.Contains(out, "vol1") || strings.Contains(out, "vol2") {
		t.Errorf("volume rm left:\n%s", out)
	}
}

// TestBindMount: -v HOST:DST[:ro] and --mount type=bind, read-only and
// read-write; --tmpfs and --mount type=tmpfs.
func TestBindMount(t *testing.T) {
	e := newEngine(t)
	host := filepath.Join(e.dir, "shared")
	os.Mkdir(host, 0o755)
	os.WriteFile(filepath.Join(host, "f"), []byte("from host\n"), 0o644)

	if got := e.must("run", "--rm", "-v", host+":/mnt:ro", builtin, "cat", "/mnt/f"); got != "from host" {
		t.Errorf("ro bind: cat printed %q", got)
	}
	if r := e.nook("run", "--rm", "-v", host+":/mnt:ro", builtin, "sh", "-c", "echo x > /mnt/g"); r.Code == 0 {
		t.Errorf("a write to a :ro bind mount succeeded: %s", r)
	}
	if _, err := os.Stat(filepath.Join(host, "g")); err == nil {
		t.Error("the :ro bind mount let a file through to the host")
	}
	e.must("run", "--rm", "-v", host+":/mnt", builtin, "sh", "-c", "echo rw > /mnt/g")
	if b, _ := os.ReadFile(filepath.Join(host, "g")); string(b) != "rw\n" {
		t.Errorf("rw bind: the host sees %q", b)
	}
	if r := e.nook("run", "--rm", "--mount", "type=bind,source="+host+",target=/m,readonly", builtin, "touch", "/m/h"); r.Code == 0 {
		t.Errorf("--mount type=bind,readonly allowed a write: %s", r)
	}
	out := e.must("run", "--rm", "--tmpfs", "/scratch", "--mount", "type=tmpfs,destination=/t", builtin, "sh", "-c", "grep -E ' /(scratch|t) ' /proc/mounts | cut -d' ' -f2,3 | sort")
	if out != "/scratch tmpfs\n/t tmpfs" {
		t.Errorf("tmpfs mounts: %q", out)
	}
}

// TestReadOnly: --read-only makes / read-only, /tmp too unless --tmpfs /tmp.
func TestReadOnly(t *testing.T) {
	e := newEngine(t)
	if r := e.nook("run", "--rm", "--read-only", builtin, "touch", "/x"); r.Code == 0 {
		t.Errorf("--read-only: a write to / succeeded")
	}
	if r := e.nook("run", "--rm", "--read-only", builtin, "touch", "/tmp/x"); r.Code == 0 {
		t.Errorf("--read-only: a write to /tmp succeeded without --tmpfs /tmp")
	}
	if r := e.nook("run", "--rm", "--read-only", "--tmpfs", "/tmp", builtin, "touch", "/tmp/x"); r.Code != 0 {
		t.Errorf("--read-only --tmpfs /tmp: %s", r)
	}
	if r := e.nook("run", "--rm", builtin, "touch", "/x"); r.Code != 0 {
		t.Errorf("without --read-only: %s", r)
	}
}

// TestRootfs: --rootfs DIR runs a directory; writes go to a private layer
// unless --rootfs-rw.
func TestRootfs(t *testing.T) {
	e := newEngine(t)
	dir := filepath.Join(e.dir, "rootfs")
	writeRootfs(t, dir)
	before := listing(t, dir)

	if got := e.must("run", "--rm", "--rootfs", dir, "sh", "-c", "echo hi > /new && cat /new && rm /bin/ls"); got != "hi" {
		t.Errorf("--rootfs: printed %q", got)
	}
	if after := listing(t, dir); after != before {
		t.Errorf("--rootfs changed the directory:\nbefore: %s\nafter:  %s", before, after)
	}
	e.must("run", "--rm", "--rootfs", dir, "--rootfs-rw", "sh", "-c", "echo rw > /new")
	if b, err := os.ReadFile(filepath.Join(dir, "new")); err != nil || string(b) != "rw\n" {
		t.Errorf("--rootfs-rw: DIR/new is %q, %v", b, err)
	}
	e.runD("--name", "rfs", "--rootfs", dir, "sleep", "1000")
	if c := e.inspect("rfs"); c.State.Status != "running" {
		t.Errorf("--rootfs -d: %+v", c.State)
	}
}

// listing is the names under dir with their sizes, one string.
func listing(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil {
			b.WriteString(p[len(dir):] + ":" + fi.Mode().String() + " ")
		}
		return nil
	})
	return b.String()
}

// TestCp: cp into and out of a running container, and out of a stopped one.
func TestCp(t *testing.T) {
	e := newEngine(t)
	e.runD("--name", "box", builtin, "sleep", "1000")
	in := filepath.Join(e.dir, "in.txt")
	os.WriteFile(in, []byte("into the box\n"), 0o644)
	e.must("cp", in, "box:/tmp/in.txt")
	if got := e.must("exec", "box", "cat", "/tmp/in.txt"); got != "into the box" {
		t.Errorf("cp in: the container reads %q", got)
	}
	e.must("exec", "box", "sh", "-c", "echo out of the box > /tmp/out.txt")
	e.must("stop", "-t", "0", "box")
	out := filepath.Join(e.dir, "out.txt")
	e.must("cp", "box:/tmp/out.txt", out)
	if b, _ := os.ReadFile(out); string(b) != "out of the box\n" {
		t.Errorf("cp out of a stopped container: %q", b)
	}
	wantError(t, e.nook("cp", "box:/no/such/file", out), "/no/such/file")
}

// TestContainerPrune: prune removes stopped containers, not running ones.
func TestContainerPrune(t *testing.T) {
	e := newEngine(t)
	e.runD("--name", "running", builtin, "sleep", "1000")
	e.must("run", "--name", "done1", builtin, "true")
	e.must("create", "--name", "made", builtin, "true")
	if r := e.nookIn(strings.NewReader("y\n"), "container", "prune"); r.Code != 0 {
		t.Fatal(r)
	}
	ids := strings.Fields(e.must("ps", "-aq"))
	if len(ids) != 1 {
		t.Errorf("after prune %d containers, want only the running one", len(ids))
	}
	if e.status("running") != "running" {
		t.Error("prune touched the running container")
	}
}
