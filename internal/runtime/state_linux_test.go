package runtime

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// statLine builds a /proc/PID/stat line for comm with the given state and
// starttime (field 22); the other fields look like a real process's.
func statLine(comm string, state string, start string) string {
	f := []string{"1234", "(" + comm + ")", state}
	// Fields 4..21: ppid pgrp session tty_nr tpgid flags minflt cminflt
	// majflt cmajflt utime stime cutime cstime priority nice num_threads
	// itrealvalue.
	f = append(f, "1", "1234", "1234", "0", "-1", "4194560", "120", "0", "0", "0", "1", "2", "0", "0", "20", "0", "1", "0")
	f = append(f, start)
	// Some of fields 23..52.
	f = append(f, "4288512", "210", "18446744073709551615", "1", "1", "0", "0", "0", "0", "0", "0", "0", "17", "3", "0", "0")
	return strings.Join(f, " ") + "\n"
}

func TestParseStat(t *testing.T) {
	for _, tt := range []struct {
		name  string
		line  string
		start uint64
		state byte
	}{
		{"plain", statLine("sh", "S", "987654"), 987654, 'S'},
		{"spaces", statLine("my proc", "R", "1"), 1, 'R'},
		{"parens", statLine("a) b (c)", "Z", "42"), 42, 'Z'},
		{"paren then state-like", statLine(") S 1 2 3", "D", "7"), 7, 'D'},
		{"empty comm", statLine("", "X", "0"), 0, 'X'},
		{"max starttime", statLine("x", "S", "18446744073709551615"), 1<<64 - 1, 'S'},
		{"given example", "1234 (a) b (c)) S 1 1234 1234 0 -1 4194560 120 0 0 0 1 2 0 0 20 0 1 0 555 4288512 210", 555, 'S'},
	} {
		t.Run(tt.name, func(t *testing.T) {
			start, state, err := parseStat(tt.line)
			if err != nil {
				t.Fatalf("parseStat(%q) = %v", tt.line, err)
			}
			if start != tt.start || state != tt.state {
				t.Errorf("parseStat(%q) = %d, %q; want %d, %q", tt.line, start, state, tt.start, tt.state)
			}
		})
	}
}

func TestParseStatMalformed(t *testing.T) {
	full := statLine("sh", "S", "100")
	for _, line := range []string{
		"",
		")",
		") ",
		"1234 (sh",
		"1234 (sh) S",
		"1234 (sh)",
		"1234 (sh) S 1 2 3",
		full[:strings.Index(full, " 100 ")],     // cut before starttime
		strings.Replace(full, " S ", " SS ", 1), // state is one letter
		strings.Replace(full, " 100 ", " -1 ", 1), // starttime is unsigned
		strings.Replace(full, " 100 ", " 1e3 ", 1),
		strings.Replace(full, " 100 ", " 18446744073709551616 ", 1), // overflows uint64
	} {
		if start, state, err := parseStat(line); err == nil {
			t.Errorf("parseStat(%q) = %d, %q, nil; want an error", line, start, state)
		}
	}
}

func TestProcStatSelf(t *testing.T) {
	start, state, err := procStat(unix.Getpid())
	if err != nil {
		t.Fatalf("procStat(self) = %v", err)
	}
	if start == 0 || state == 'Z' || state == 'X' {
		t.Errorf("procStat(self) = %d, %q", start, state)
	}
	if !processAlive(unix.Getpid(), start) {
		t.Error("processAlive(self) = false")
	}
	if processAlive(unix.Getpid(), start+1) {
		t.Error("processAlive(self, wrong start time) = true")
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add(statLine("sh", "S", "100"))
	f.Add(statLine("a) b (c)", "R", "1"))
	f.Add("1 (x) ")
	f.Add(")")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		_, _, _ = parseStat(s)
	})
}

func TestParseSignal(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want unix.Signal
		ok   bool
	}{
		{"KILL", unix.SIGKILL, true},
		{"SIGKILL", unix.SIGKILL, true},
		{"kill", unix.SIGKILL, true},
		{"sigkill", unix.SIGKILL, true},
		{"SigTerm", unix.SIGTERM, true},
		{"HUP", unix.SIGHUP, true},
		{"usr1", unix.SIGUSR1, true},
		{"9", unix.SIGKILL, true},
		{"15", unix.SIGTERM, true},
		{"1", unix.SIGHUP, true},
		{"64", unix.Signal(64), true},
		// unix.SignalNum knows only the classic names, not SIGRTMIN.
		{"SIGRTMIN", 0, false},
		{"0", 0, false},
		{"-1", 0, false},
		{"65", 0, false},
		{"NOPE", 0, false},
		{"SIGNOPE", 0, false},
		{"SIG", 0, false},
		{"", 0, false},
	} {
		got, err := ParseSignal(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseSignal(%q) = %v, %v; want ok=%v", tt.in, got, err, tt.ok)
			continue
		}
		if tt.ok && got != tt.want {
			t.Errorf("ParseSignal(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}
