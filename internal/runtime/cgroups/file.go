package cgroups

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// write is one value for one cgroup interface file. Translation functions
// return them in the order they must be written: the kernel checks each
// value against the ones already in place (a memory limit against the
// memory+swap limit, a quota against its period).
type write struct {
	file  string // name inside the cgroup directory, e.g. "memory.max"
	value string
}

// writeFile writes one value to one cgroup file. It never creates the file:
// a missing interface file means the controller is absent, and the error
// says which one.
func writeFile(log *slog.Logger, dir, file, value string) error {
	path := filepath.Join(dir, file)
	log.Debug("cgroup write", "file", path, "value", value)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err == nil {
		// One write call: cgroup files parse each write(2) on its own.
		_, err = f.Write([]byte(value))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("writing %s=%s to %s: %w", file, value, dir, unwrapPath(err))
	}
	return nil
}

// unwrapPath strips *os.PathError so our message names the file once.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func readFile(dir, file string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", filepath.Join(dir, file), unwrapPath(err))
	}
	return strings.TrimSpace(string(b)), nil
}

// readUint reads a file holding one number; "max" reads as 0, meaning no
// limit.
func readUint(dir, file string) (uint64, error) {
	s, err := readFile(dir, file)
	if err != nil {
		return 0, err
	}
	if s == "max" {
		return 0, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parsing %s: %w", filepath.Join(dir, file), err)
	}
	return v, nil
}

// readKeyed reads one key of a flat keyed file such as memory.events or
// cpu.stat ("key value" per line).
func readKeyed(dir, file, key string) (uint64, error) {
	s, err := readFile(dir, file)
	if err != nil {
		return 0, err
	}
	v, ok := keyedValue(s, key)
	if !ok {
		return 0, fmt.Errorf("parsing %s: no %q entry", filepath.Join(dir, file), key)
	}
	return v, nil
}

func keyedValue(s, key string) (uint64, bool) {
	for line := range strings.Lines(s) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok || k != key {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		return n, err == nil
	}
	return 0, false
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func mkdir(log *slog.Logger, dir string) error {
	err := os.Mkdir(dir, 0o755)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	log.Debug("cgroup mkdir", "dir", dir)
	if err != nil {
		return fmt.Errorf("creating cgroup %s: %w", dir, unwrapPath(err))
	}
	return nil
}

// mkdirAll creates dir and its missing parents below root, calling each
// (created or existing) directory from the top down so callers can set up
// parents before children (cpuset on v1, subtree_control on v2).
func mkdirAll(log *slog.Logger, root, rel string, each func(dir, parent string) error) error {
	dir := root
	for _, part := range strings.Split(strings.Trim(rel, "/"), "/") {
		if part == "" {
			continue
		}
		parent := dir
		dir = filepath.Join(dir, part)
		if err := mkdir(log, dir); err != nil {
			return err
		}
		if each != nil {
			if err := each(dir, parent); err != nil {
				return err
			}
		}
	}
	return nil
}

// rmdir removes a cgroup directory and any child cgroups inside it. A
// cgroup directory is removed with rmdir(2) although it lists files: they
// are not real files. The kernel answers EBUSY while exiting tasks are
// still being released (cgroup-v1/cgroups.rst "rmdir"; on v2 until the
// cgroup is unpopulated), so EBUSY is retried for about a second.
func rmdir(log *slog.Logger, dir string, remove func(string) error) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := rmdir(log, filepath.Join(dir, e.Name()), remove); err != nil {
				return err
			}
		}
	}
	log.Debug("cgroup rmdir", "dir", dir)
	delay := time.Millisecond
	for deadline := time.Now().Add(time.Second); ; {
		err = remove(dir)
		if err == nil || errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
			return fmt.Errorf("removing cgroup %s: %w", dir, unwrapPath(err))
		}
		time.Sleep(delay)
		delay = min(2*delay, 100*time.Millisecond)
	}
}
