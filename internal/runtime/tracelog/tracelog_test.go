package tracelog

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"
)

var linePattern = regexp.MustCompile(`^\d{2}:\d{2}:\d{2}\.\d{6} (DEBUG|INFO |WARN |ERROR) (.*)$`)

// lines splits the output and strips each line's "HH:MM:SS.ffffff LEVEL "
// after checking it.
func lines(t *testing.T, out string) []string {
	t.Helper()
	var got []string
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		m := linePattern.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("line %q does not start with HH:MM:SS.ffffff LEVEL", l)
		}
		got = append(got, strings.TrimSpace(m[1])+" "+m[2])
	}
	return got
}

func TestText(t *testing.T) {
	var b bytes.Buffer
	log := slog.New(New(&b, slog.LevelDebug, false))
	log.Debug("clone", "flags", "CLONE_NEWNS|CLONE_NEWPID")
	log.Info("mount", "source", "proc", "target", "/proc", "opts", "a b", "empty", "", "eq", "x=y", "q", `say "hi"`, "n", 3)
	log.Warn("took", "d", 1500*time.Nanosecond+1234*time.Millisecond)
	log.Error("tab", "v", "a\tb", "nl", "a\nb")

	want := []string{
		"DEBUG clone flags=CLONE_NEWNS|CLONE_NEWPID",
		`INFO mount source=proc target=/proc opts="a b" empty="" eq="x=y" q="say \"hi\"" n=3`,
		"WARN took d=1.234002s",
		`ERROR tab v="a\tb" nl="a\nb"`,
	}
	got := lines(t, b.String())
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestTextTimestamp(t *testing.T) {
	var b bytes.Buffer
	h := New(&b, slog.LevelDebug, false)
	ts := time.Date(2024, 5, 6, 12, 1, 2, 345678901, time.Local)
	r := slog.NewRecord(ts, slog.LevelDebug, "clone", 0)
	if err := h.Handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if want := "12:01:02.345678 DEBUG clone\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

func TestTextPrefix(t *testing.T) {
	for _, tt := range []struct {
		name string
		log  func(*slog.Logger) *slog.Logger
		want string
	}{
		{"in and pid", func(l *slog.Logger) *slog.Logger { return l.With("pid", 4125, "in", "init") }, "DEBUG [init 4125] mount target=/proc"},
		{"pid first", func(l *slog.Logger) *slog.Logger { return l.With("in", "create", "pid", 4120) }, "DEBUG [create 4120] mount target=/proc"},
		{"only in", func(l *slog.Logger) *slog.Logger { return l.With("in", "create") }, "DEBUG [create] mount target=/proc"},
		{"only pid", func(l *slog.Logger) *slog.Logger { return l.With("pid", 7) }, "DEBUG [7] mount target=/proc"},
		{"other attrs", func(l *slog.Logger) *slog.Logger { return l.With("in", "init", "pid", 1, "id", "web 1") },
			`DEBUG [init 1] mount id="web 1" target=/proc`},
		{"attrs over two Withs", func(l *slog.Logger) *slog.Logger { return l.With("in", "init", "a", 1).With("b", 2) },
			"DEBUG [init] mount a=1 b=2 target=/proc"},
		{"no prefix", func(l *slog.Logger) *slog.Logger { return l }, "DEBUG mount target=/proc"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			tt.log(slog.New(New(&b, slog.LevelDebug, false))).Debug("mount", "target", "/proc")
			got := lines(t, b.String())
			if len(got) != 1 || got[0] != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTextWithDoesNotChangeParent(t *testing.T) {
	var b bytes.Buffer
	parent := slog.New(New(&b, slog.LevelDebug, false))
	_ = parent.With("in", "init", "pid", 1, "x", 2)
	parent.Debug("step")
	if got := lines(t, b.String()); len(got) != 1 || got[0] != "DEBUG step" {
		t.Errorf("got %q, want the parent unchanged", got)
	}
}

func TestLevels(t *testing.T) {
	for _, json := range []bool{false, true} {
		var b bytes.Buffer
		log := slog.New(New(&b, slog.LevelInfo, json))
		log.Debug("hidden")
		log.Info("shown")
		log.Warn("shown too")
		out := b.String()
		if strings.Contains(out, "hidden") {
			t.Errorf("json=%v: debug line written at level info:\n%s", json, out)
		}
		if n := strings.Count(out, "\n"); n != 2 {
			t.Errorf("json=%v: %d lines, want 2:\n%s", json, n, out)
		}
		if log.Enabled(context.Background(), slog.LevelDebug) {
			t.Errorf("json=%v: debug enabled at level info", json)
		}
	}
}

func TestJSON(t *testing.T) {
	var b bytes.Buffer
	log := slog.New(New(&b, slog.LevelDebug, true))
	log.Debug("clone", "flags", "CLONE_NEWNS")
	log.Warn("careful")

	var levels []string
	for _, l := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", l, err)
		}
		for _, k := range []string{"level", "msg", "time"} {
			if _, ok := m[k]; !ok {
				t.Errorf("line %q has no %q key", l, k)
			}
		}
		if ts, _ := m["time"].(string); ts != "" {
			if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
				t.Errorf("time %q is not RFC 3339: %v", ts, err)
			}
		}
		levels = append(levels, m["level"].(string))
		if m["msg"] == "clone" && m["flags"] != "CLONE_NEWNS" {
			t.Errorf("line %q lost flags", l)
		}
	}
	if want := []string{"debug", "warn"}; strings.Join(levels, ",") != strings.Join(want, ",") {
		t.Errorf("levels = %q, want %q", levels, want)
	}
}
