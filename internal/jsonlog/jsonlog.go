package jsonlog

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"strconv"
	"sync"
	"time"
)

// Rotation is on by default (Docker's json-file is unbounded unless told):
// 10 MB per file, 3 files.
const (
	DefaultMaxSize = 10 << 20
	DefaultMaxFile = 3
)

// Entry is one line of the log.
type Entry struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

// Writer appends entries to a log file, rotating it at MaxSize.
type Writer struct {
	mu      sync.Mutex
	path    string
	f       *os.File
	size    int64
	maxSize int64
	maxFile int
}

// Open opens (creating) the log at path for appending. maxSize and
// maxFile of 0 or less mean the defaults.
func Open(path string, maxSize int64, maxFile int) (*Writer, error) {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	if maxFile <= 0 {
		maxFile = DefaultMaxFile
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Writer{path: path, f: f, size: st.Size(), maxSize: maxSize, maxFile: maxFile}, nil
}

// Write appends one entry (the caller splits its output at newlines).
func (w *Writer) Write(stream string, line []byte) {
	data, _ := json.Marshal(Entry{Log: string(line), Stream: stream, Time: time.Now().UTC()})
	data = append(data, '\n')
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.size > 0 && w.size+int64(len(data)) > w.maxSize {
		w.rotate()
	}
	n, _ := w.f.Write(data)
	w.size += int64(n)
}

// rotate shifts PATH.(n-1) to PATH.n, PATH to PATH.1 and starts a new PATH;
// with max-file 1 it truncates PATH instead.
func (w *Writer) rotate() {
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

// Close closes the current file.
func (w *Writer) Close() error { return w.f.Close() }

// Pump copies a container stream to out (the attached client), when not
// nil, as it comes, and to the log line by line; a partial line is logged
// when it grows past 16 KiB or the stream ends. It returns at EOF or on a
// read error (EIO: a pty with no slave left). A nil Writer logs nothing.
func (w *Writer) Pump(stream string, r io.Reader, out io.Writer) {
	buf := make([]byte, 32<<10)
	var line []byte
	write := func(b []byte) {
		if w != nil {
			w.Write(stream, b)
		}
	}
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
				write(line[:i+1])
				line = line[i+1:]
			}
			if len(line) > 16<<10 {
				write(line)
				line = nil
			}
			line = append([]byte(nil), line...) // don't pin buf's predecessor
		}
		if err != nil {
			if len(line) > 0 {
				write(line)
			}
			return
		}
	}
}
