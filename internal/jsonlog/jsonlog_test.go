package jsonlog

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func readEntries(t *testing.T, path string) []Entry {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []Entry
	for _, l := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		var e Entry
		if err := json.Unmarshal(l, &e); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		out = append(out, e)
	}
	return out
}

// TestFormat: Docker's json-file line, key order and all.
func TestFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c-json.log")
	w, err := Open(path, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now().UTC()
	w.Write("stderr", []byte("a \"quoted\" line\n"))
	w.Close()
	data, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(data), `{"log":"a \"quoted\" line\n","stream":"stderr","time":"`) || !strings.HasSuffix(string(data), "Z\"}\n") {
		t.Errorf("line %q", data)
	}
	e := readEntries(t, path)[0]
	if e.Time.Before(before.Add(-time.Second)) || e.Time.Location() != time.UTC {
		t.Errorf("time %v", e.Time)
	}
}

// TestAppend: reopening appends and counts what is there towards max-size.
func TestAppend(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c-json.log")
	for i := 0; i < 2; i++ {
		w, err := Open(path, 1<<20, 2)
		if err != nil {
			t.Fatal(err)
		}
		w.Write("stdout", []byte("x\n"))
		w.Close()
	}
	if n := len(readEntries(t, path)); n != 2 {
		t.Errorf("%d entries, want 2", n)
	}
	w, _ := Open(path, 100, 2) // already ~140 bytes: the next write rotates
	w.Write("stdout", []byte("y\n"))
	w.Close()
	if got := readEntries(t, path); len(got) != 1 || got[0].Log != "y\n" {
		t.Errorf("after rotation: %+v", got)
	}
	if n := len(readEntries(t, path+".1")); n != 2 {
		t.Errorf("%s: %d entries, want 2", path+".1", n)
	}
}

func TestRotate(t *testing.T) {
	for _, tc := range []struct {
		maxFile int
		files   []string // expected to exist
		gone    []string
	}{
		{maxFile: 1, files: []string{""}, gone: []string{".1"}},
		{maxFile: 2, files: []string{"", ".1"}, gone: []string{".2"}},
		{maxFile: 3, files: []string{"", ".1", ".2"}, gone: []string{".3"}},
	} {
		dir := t.TempDir()
		path := filepath.Join(dir, "c-json.log")
		w, err := Open(path, 200, tc.maxFile)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 50; i++ {
			w.Write("stdout", []byte(strings.Repeat("z", 40)+"\n"))
		}
		w.Close()
		for _, s := range tc.files {
			st, err := os.Stat(path + s)
			if err != nil {
				t.Errorf("max-file %d: %v", tc.maxFile, err)
			} else if st.Size() > 200 {
				t.Errorf("max-file %d: %s is %d bytes, over max-size", tc.maxFile, path+s, st.Size())
			}
		}
		for _, s := range tc.gone {
			if _, err := os.Stat(path + s); err == nil {
				t.Errorf("max-file %d: %s exists", tc.maxFile, path+s)
			}
		}
		// The newest line is the last of the current file.
		got := readEntries(t, path)
		if len(got) == 0 || got[len(got)-1].Log != strings.Repeat("z", 40)+"\n" {
			t.Errorf("max-file %d: current file %+v", tc.maxFile, got)
		}
	}
}

// TestPump: lines split at newlines, a trailing partial line logged at
// EOF, long lines cut at 16 KiB, everything copied to out as is.
func TestPump(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c-json.log")
	w, err := Open(path, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("l", 40<<10)
	in := "one\ntwo\n" + long + "\nthree"
	var out bytes.Buffer
	w.Pump("stdout", strings.NewReader(in), &out)
	w.Close()
	if out.String() != in {
		t.Errorf("out got %d bytes, want %d", out.Len(), len(in))
	}
	var logs []string
	var joined string
	for _, e := range readEntries(t, path) {
		if e.Stream != "stdout" {
			t.Errorf("stream %q", e.Stream)
		}
		logs = append(logs, e.Log)
		joined += e.Log
	}
	if joined != in {
		t.Errorf("the log's lines do not add up to the input")
	}
	if logs[0] != "one\n" || logs[1] != "two\n" || logs[len(logs)-1] != "three" {
		t.Errorf("entries %q ... %q", logs[:2], logs[len(logs)-1])
	}
	for _, l := range logs {
		if len(l) > 16<<10+32<<10 {
			t.Errorf("entry of %d bytes", len(l))
		}
	}
	if len(logs) < 5 {
		t.Errorf("the 40 KiB line was not split: %d entries", len(logs))
	}
}

// TestPumpNil: a nil Writer still copies to out.
func TestPumpNil(t *testing.T) {
	var w *Writer
	var out bytes.Buffer
	w.Pump("stdout", strings.NewReader("a\nb"), &out)
	if out.String() != "a\nb" {
		t.Errorf("out %q", out.String())
	}
}
