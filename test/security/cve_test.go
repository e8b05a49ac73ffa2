package security

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

func sha(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// TestExeOverwrite is CVE-2019-5736: the container writes to
// /proc/PID/exe of the runtime's processes. The created init's exe must not
// be the runtime's file (it is the binary seen through a private read-only
// overlay, or a sealed memfd) and must refuse a write open (from the host,
// even as root), and
// while a container keeps trying /proc/*/exe of every process it sees, the
// host runs exec into it many times; the runtime binary must be unchanged.
func TestExeOverwrite(t *testing.T) {
	e := newEnv(t)
	before := sha(t, runtimeBin)
	// The init hunts for any process whose exe it can open for writing
	// and logs what it saw into /dev/shm (the root is read-only).
	e.sh(`
i=0
while [ $i -lt 400 ]; do
  for p in /proc/[0-9]*; do
    l=$(readlink $p/exe 2>/dev/null)
    case "$l" in *memfd*|*nook*) echo "SEEN:$p:$l" >> /dev/shm/log ;; esac
    { echo x >> $p/exe; } 2>/dev/null && echo "OK:exe:$p:$l" >> /dev/shm/log
  done
  i=$((i+1))
done
sleep 300`)
	e.writeSpec()
	e.mustRT("create", e.id)
	pid := e.state().Pid
	exe, _ := os.Readlink("/proc/" + itoa(pid) + "/exe")
	t.Logf("created init %d: exe -> %s", pid, exe)
	var initSt, binSt syscall.Stat_t
	if err := syscall.Stat("/proc/"+itoa(pid)+"/exe", &initSt); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Stat(runtimeBin, &binSt); err != nil {
		t.Fatal(err)
	}
	if initSt.Dev == binSt.Dev && initSt.Ino == binSt.Ino {
		t.Errorf("HOLE: the created init runs the runtime's own file %s (dev %d ino %d)", exe, binSt.Dev, binSt.Ino)
	}
	if f, err := os.OpenFile("/proc/"+itoa(pid)+"/exe", os.O_WRONLY, 0); err == nil {
		f.Close()
		t.Errorf("HOLE: the created init's exe opens for writing")
	} else {
		t.Logf("opening the created init's exe for writing: %v", err)
	}
	// exec into a created container, if the runtime allows it: its pid 1
	// is still nook's init.
	r := e.rt("exec", e.id, "sh", "-c", "{ echo x >> /proc/1/exe; } 2>/dev/null && echo OK:exe-created; readlink /proc/1/exe")
	t.Logf("exec while created: %s", r)
	if ranOK(r, "exe-created") {
		t.Errorf("HOLE: the runtime's init exe was writable from an exec while created: %s", r)
	}
	e.mustRT("start", e.id)
	for i := 0; i < 15; i++ {
		e.rt("exec", e.id, "true")
	}
	time.Sleep(time.Second)
	log := e.rt("exec", e.id, "cat", "/dev/shm/log")
	t.Logf("what the container saw: %s", log)
	if strings.Contains(log.stdout, "OK:exe") {
		t.Errorf("HOLE: the container opened a runtime process's exe for writing: %s", log.stdout)
	}
	if after := sha(t, runtimeBin); after != before {
		t.Errorf("HOLE: %s changed: sha256 %s before, %s after", runtimeBin, before, after)
	}
}

// TestNoLeakedFds is CVE-2024-21626: the program sees no fd beyond 0, 1 and
// 2, in run and in exec, and a cwd of /proc/self/fd/N (a leaked host
// directory fd in runc 1.1.11) never puts the process in a host directory.
func TestNoLeakedFds(t *testing.T) {
	t.Run("run", func(t *testing.T) {
		rep := newEnv(t).probe()
		for fd, target := range rep.FDs {
			if fd > 2 {
				t.Errorf("HOLE: fd %d (%s) reached the container's program", fd, target)
			}
		}
	})
	t.Run("exec", func(t *testing.T) {
		e := newEnv(t).args("sleep", "300")
		e.detached()
		rep := decodeReport(t, e.mustRT("exec", e.id, "/probe"))
		for fd, target := range rep.FDs {
			if fd > 2 {
				t.Errorf("HOLE: fd %d (%s) reached the exec'd program", fd, target)
			}
		}
		m := hostMarker(t)
		for fd := 3; fd <= 9; fd++ {
			cwd := "/proc/self/fd/" + itoa(fd)
			r := e.rt("exec", "--cwd", cwd, e.id, "sh", "-c", "pwd -P; ls ../../../../../../; cat ../../../../../../CONTAINER_MARKER")
			t.Logf("exec --cwd %s: %s", cwd, r)
			checkInside(t, r, m, false)
		}
	})
	for fd := 3; fd <= 9; fd++ {
		cwd := "/proc/self/fd/" + itoa(fd)
		t.Run("cwd"+itoa(fd), func(t *testing.T) {
			m := hostMarker(t)
			e := newEnv(t)
			e.spec.Process.Cwd = cwd
			pwn := "/tmp/nook-sec-cwd-pwned-" + e.id
			r := e.sh("pwd -P; ls ../../../../../../; cat ../../../../../../CONTAINER_MARKER; echo pwned > ../../../../../.." + pwn).run()
			t.Logf("cwd %s: %s", cwd, r)
			checkInside(t, r, m, false)
			if _, err := os.Stat(pwn); err == nil {
				os.Remove(pwn)
				t.Errorf("HOLE (CVE-2024-21626): with process.cwd %s the container wrote %s on the host", cwd, pwn)
			}
		})
	}
}
