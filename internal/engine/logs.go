package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nook-containers/nook/internal/jsonlog"
	"github.com/nook-containers/nook/internal/runtime"
)

func (e *Engine) logPath(c *Container) string {
	return filepath.Join(c.dir(e), c.ID+"-json.log")
}

// logLimits reads --log-opt max-size and max-file (0: the default).
func logLimits(cfg LogConfig) (maxSize int64, maxFile int) {
	if v, ok := cfg.Config["max-size"]; ok {
		if n, err := runtime.ParseSize(v); err == nil && n > 0 {
			maxSize = n
		}
	}
	if v, ok := cfg.Config["max-file"]; ok {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			maxFile = n
		}
	}
	return maxSize, maxFile
}

func openLog(path string, cfg LogConfig) (*jsonlog.Writer, error) {
	maxSize, maxFile := logLimits(cfg)
	w, err := jsonlog.Open(path, maxSize, maxFile)
	if err != nil {
		return nil, fmt.Errorf("opening the container log: %w", err)
	}
	return w, nil
}

// LogsOptions are `nook logs` flags.
type LogsOptions struct {
	Follow     bool
	Tail       int // -1: all
	Timestamps bool
	Stdout     io.Writer
	Stderr     io.Writer
}

// Logs prints a container's log; with Follow it keeps printing until the
// container stops.
func (e *Engine) Logs(c *Container, o LogsOptions) error {
	path := e.logPath(c)
	var files []string
	for i := jsonlog.DefaultMaxFile + 32; i >= 1; i-- {
		if _, err := os.Stat(path + "." + strconv.Itoa(i)); err == nil {
			files = append(files, path+"."+strconv.Itoa(i))
		}
	}
	files = append(files, path)
	var entries []jsonlog.Entry
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range bytes.Split(data, []byte("\n")) {
			var le jsonlog.Entry
			if json.Unmarshal(line, &le) == nil {
				entries = append(entries, le)
			}
		}
	}
	if o.Tail >= 0 && len(entries) > o.Tail {
		entries = entries[len(entries)-o.Tail:]
	}
	for _, le := range entries {
		printEntry(le, o)
	}
	if !o.Follow {
		return nil
	}
	return e.followLog(c, path, o)
}

func printEntry(le jsonlog.Entry, o LogsOptions) {
	w := o.Stdout
	if le.Stream == "stderr" {
		w = o.Stderr
	}
	if o.Timestamps {
		fmt.Fprint(w, le.Time.Format(time.RFC3339Nano)+" ")
	}
	io.WriteString(w, le.Log)
}

// followLog prints what is appended to path (reopening it when rotated)
// until the container is no longer running and nothing more comes.
func (e *Engine) followLog(c *Container, path string, o LogsOptions) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer func() { f.Close() }()
	offset, _ := f.Seek(0, io.SeekEnd)
	var pending []byte
	stopped := false
	for {
		buf := make([]byte, 64<<10)
		n, _ := f.ReadAt(buf, offset)
		if n > 0 {
			offset += int64(n)
			pending = append(pending, buf[:n]...)
			for {
				i := bytes.IndexByte(pending, '\n')
				if i < 0 {
					break
				}
				var le jsonlog.Entry
				if json.Unmarshal(pending[:i], &le) == nil {
					printEntry(le, o)
				}
				pending = pending[i+1:]
			}
			continue
		}
		// Rotated: the path names a new file.
		if st, err := os.Stat(path); err == nil {
			if cur, err := f.Stat(); err == nil && !os.SameFile(st, cur) {
				f.Close()
				if f, err = os.Open(path); err != nil {
					return err
				}
				offset, pending = 0, nil
				continue
			}
		}
		if stopped {
			return nil
		}
		cur, err := e.load(c.ID)
		if err != nil || (cur.State.Status != StatusRunning && cur.State.Status != StatusRestarting && cur.State.Status != StatusPaused) {
			stopped = true // one more read for what came before the exit
			continue
		}
		time.Sleep(100 * time.Millisecond)
	}
}
