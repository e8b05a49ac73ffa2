// Package tracelog formats nook's step-by-step trace so that a person can
// read a container being made, one kernel-level step per line:
//
//	12:01:02.345678 DEBUG [create 4120] clone flags=CLONE_NEWNS|CLONE_NEWPID
//	12:01:02.351022 DEBUG [init 4125] mount source=proc target=/proc type=proc flags=MS_NOSUID|MS_NODEV|MS_NOEXEC
//
// With --log-format json it writes runc's {"level","msg","time"} lines
// instead, which containerd and Podman parse.
package tracelog

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
)

// New returns a handler writing to w at level: readable text, or runc's JSON
// lines when json is true.
func New(w io.Writer, level slog.Level, json bool) slog.Handler {
	if json {
		return slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: lowerLevel})
	}
	return &handler{w: w, level: level, mu: &sync.Mutex{}}
}

// lowerLevel writes "level":"debug" as runc's logrus does.
func lowerLevel(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.LevelKey {
		return slog.String(slog.LevelKey, strings.ToLower(a.Value.String()))
	}
	return a
}

type handler struct {
	w      io.Writer
	level  slog.Level
	in     string // who logs: "init", "nook-runtime"
	pid    string
	prefix string // "[init 4125] "
	attrs  string // pre-rendered attributes
	mu     *sync.Mutex
}

func (h *handler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *handler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Time.Format("15:04:05.000000"))
	b.WriteByte(' ')
	fmt.Fprintf(&b, "%-5s ", r.Level.String())
	b.WriteString(h.prefix)
	b.WriteString(r.Message)
	b.WriteString(h.attrs)
	r.Attrs(func(a slog.Attr) bool {
		writeAttr(&b, a)
		return true
	})
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

// WithAttrs folds "pid" and "in" into the "[in pid]" prefix; other
// attributes are rendered once here and appended to every line.
func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	n := *h
	var b strings.Builder
	b.WriteString(h.attrs)
	for _, a := range as {
		switch a.Key {
		case "in":
			n.in = a.Value.String()
		case "pid":
			n.pid = a.Value.String()
		default:
			writeAttr(&b, a)
		}
	}
	if n.in != "" || n.pid != "" {
		n.prefix = "[" + strings.TrimSpace(n.in+" "+n.pid) + "] "
	}
	n.attrs = b.String()
	return &n
}

func (h *handler) WithGroup(string) slog.Handler { return h }

func writeAttr(b *strings.Builder, a slog.Attr) {
	if a.Equal(slog.Attr{}) {
		return
	}
	b.WriteByte(' ')
	b.WriteString(a.Key)
	b.WriteByte('=')
	v := a.Value.Resolve()
	var s string
	switch v.Kind() {
	case slog.KindDuration:
		s = v.Duration().Round(time.Microsecond).String()
	default:
		s = v.String()
	}
	if s == "" || strings.ContainsAny(s, " \t\n\"=") {
		s = strconv.Quote(s)
	}
	b.WriteString(s)
}
