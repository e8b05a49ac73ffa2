package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/nook-containers/nook/internal/runtime"
)

// Log rotation is on by default (Docker's json-file is unbounded unless
// told): 10 MB per file, 3 files.
const (
	defaultLogMaxSize = 10 << 20
	defaultLogMaxFile = 3
)

// logEntry is one line of Docker's json-file log.
type logEntry struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

// logWriter writes a container's output as json-file lines, rotating at
// maxSize into path.1 .. path.(maxFile-1).
type logWriter struct {
	mu      sync.Mutex
	path    string
	f       *os.File
	size    int64
	maxSize int64
	maxFile int
}

func (e *Engine) logPath(c *Container) string {
	return filepath.Join(c.dir(e), c.ID+"-json.log")
}

func openLog(path string, cfg LogConfig) (*logWriter, error) {
	w := &logWriter{path: path, maxSize: defaultLogMaxSize, maxFile: defaultLogMaxFile}
	if v, ok := cfg.Config["max-size"]; ok {
		if n, err := runtime.ParseSize(v); err == nil && n > 0 {
			w.maxSize = n
		}
	}
	if v, ok := cfg.Config["max-file"]; ok {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			w.maxFile = n
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("opening the container log: %w", err)
	}
	st, _ := f.Stat()
	w.f, w.size = f, st.Size()
	return w, nil
}

// write appends one entry per line of p (a trailing partial line is one
// entry too: the caller splits at newlines).
func (w *logWriter) write(stream string, line []byte) {
	data, _ := json.Marshal(logEntry{Log: string(line), Stream: stream, Time: time.Now().UTC()})
	data = append(data, '\n')
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.size > 0 && w.size+int64(len(data)) > w.maxSize {
		w.rotate()
	}
	n, _ := w.f.Write(data)
	w.size += int64(n)
}

func (w *logWriter) rotate() {
	w.f.Close()
	if w.maxFile <= 1 {
		os.Truncate(w.path, 0)
	} else {
		for i := w.maxFile - 1; i > 1; i-- {
			os.Rename(w.path+"."+strconv.Itoa(i-1), w.path+"."+strconv.Itoa(i))
		}
		os.Rename(w.path, w.path+".1")
	}
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err == nil {
		w.f = f
	}
	w.size = 0
}

func (w *logWriter) Close() error { return w.f.Close() }

// pump copies a container stream to out (the attached client), when not
// nil, as it comes, and to the log line by line; a partial line is logged
// when it grows past 16 KiB or the stream ends. It returns at EOF (or EIO:
// a pty with no slave left).
func (w *logWriter) pump(stream string, r io.Reader, out io.Writer) {
	buf := make([]byte, 32<<10)
	var line []byte
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if out != nil {
				if _, werr := out.Write(buf[:n]); werr != nil {
					out = nil // the client went away; keep logging
				}
			}
			line = append(line, buf[:n]...)
			for {
				i := bytes.IndexByte(line, '\n')
				if i < 0 {
					break
				}
				w.write(stream, line[:i+1])
				line = line[i+1:]
			}
			if len(line) > 16<<10 {
				w.write(stream, line)
				line = nil
			}
			line = append([]byte(nil), line...) // don't pin buf's predecessor
		}
		if err != nil {
			if len(line) > 0 {
				w.write(stream, line)
			}
			return
		}
	}
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
	for i := defaultLogMaxFile + 32; i >= 1; i-- {
		if _, err := os.Stat(path + "." + strconv.Itoa(i)); err == nil {
			files = append(files, path+"."+strconv.Itoa(i))
		}
	}
	files = append(files, path)
	var entries []logEntry
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range bytes.Split(data, []byte("\n")) {
			var le logEntry
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

func printEntry(le logEntry, o LogsOptions) {
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
				var le logEntry
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
