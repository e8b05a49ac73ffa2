package engine

import (
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// ttyRun is nook run -it on a pty the test holds the master of.
type ttyRun struct {
	t    *testing.T
	cmd  *exec.Cmd
	ptm  *os.File
	out  *lineBuffer
	done chan struct{}
}

// startTTY starts nook --root R args... on a new pty of size rows x cols.
func (e *engine) startTTY(rows, cols uint16, args ...string) *ttyRun {
	e.t.Helper()
	cmd := exec.Command(nookBin, append([]string{"--root", e.root}, args...)...)
	ptm, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: rows, Cols: cols})
	if err != nil {
		e.t.Fatal(err)
	}
	r := &ttyRun{t: e.t, cmd: cmd, ptm: ptm, out: &lineBuffer{}, done: make(chan struct{})}
	go func() {
		io.Copy(r.out, ptm) // ends with EIO when the last slave fd closes
	}()
	go func() { cmd.Wait(); close(r.done) }()
	e.t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			cmd.Process.Kill() // our own child
			<-r.done
		}
		ptm.Close()
	})
	return r
}

// expect waits until the terminal has shown s.
func (r *ttyRun) expect(s string) {
	r.t.Helper()
	waitFor(r.t, "the terminal to show "+strings.TrimSpace(s), func() (bool, string) {
		return strings.Contains(r.out.String(), s), r.out.String()
	})
}

func (r *ttyRun) send(s string) {
	r.t.Helper()
	if _, err := r.ptm.Write([]byte(s)); err != nil {
		r.t.Fatal(err)
	}
}

// exitCode waits for nook to exit and returns its code.
func (r *ttyRun) exitCode() int {
	r.t.Helper()
	select {
	case <-r.done:
	case <-time.After(patience):
		r.t.Fatalf("nook run -it did not exit; the terminal shows:\n%s", r.out.String())
	}
	return r.cmd.ProcessState.ExitCode()
}

// TestRunTTY: an interactive shell through a pty computes and exits with
// the code it was told.
func TestRunTTY(t *testing.T) {
	e := newEngine(t)
	e.must("run", "--rm", builtin, "true")
	r := e.startTTY(24, 80, "run", "-it", "--rm", builtin, "sh")
	r.expect("# ")
	r.send("echo $((6*7)); exit 5\n")
	if code := r.exitCode(); code != 5 {
		t.Errorf("exit code %d, want 5; the terminal shows:\n%s", code, r.out.String())
	}
	if !strings.Contains(r.out.String(), "42\r\n") {
		t.Errorf("no 42 on the terminal:\n%q", r.out.String())
	}
	if out := e.must("ps", "-aq"); out != "" {
		t.Errorf("run -it --rm left containers: %s", out)
	}
}

// TestRunTTYSize: the container's terminal has the size of the caller's,
// at start and after a resize.
func TestRunTTYSize(t *testing.T) {
	e := newEngine(t)
	e.must("run", "--rm", builtin, "true")

	r := e.startTTY(40, 100, "run", "-it", "--rm", builtin, "stty", "size")
	if code := r.exitCode(); code != 0 {
		t.Fatalf("stty size: exit %d:\n%s", code, r.out.String())
	}
	if !strings.Contains(r.out.String(), "40 100") {
		t.Errorf("stty size printed %q, want 40 100", r.out.String())
	}

	r = e.startTTY(24, 80, "run", "-it", "--rm", builtin, "sh")
	r.expect("# ")
	if err := pty.Setsize(r.ptm, &pty.Winsize{Rows: 30, Cols: 90}); err != nil {
		t.Fatal(err)
	}
	// The resize reaches nook as SIGWINCH and the container some time
	// later: ask until it has.
	waitFor(t, "stty size to print 30 90 after a resize", func() (bool, string) {
		if strings.Contains(r.out.String(), "30 90") {
			return true, ""
		}
		r.send("stty size\n")
		return false, r.out.String()
	})
	r.send("exit\n")
	if code := r.exitCode(); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
}
