package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// DefaultRoot is where container state lives unless --root says otherwise.
const DefaultRoot = "/run/nook-runtime"

const (
	stateFile = "state.json"
	fifoName  = "exec.fifo"
)

// State is what nook keeps on disk for one container. The OCI part is
// embedded; Status is recomputed from the kernel every time it is read.
type State struct {
	specs.State
	// Created is when create finished.
	Created time.Time `json:"created"`
	// StartTime is the init's start time in clock ticks since boot (field 22
	// of /proc/PID/stat): with the pid it names the process even after the
	// pid is reused.
	StartTime uint64 `json:"startTime"`
	// Rootfs is the absolute path of the root filesystem.
	Rootfs string `json:"rootfs"`
	// CgroupsPath is linux.cgroupsPath as given in config.json.
	CgroupsPath string `json:"cgroupsPath"`
	// Systemd is true when the cgroup is a transient systemd unit
	// (--systemd-cgroup at create): every later command manages it so.
	Systemd bool `json:"systemd,omitempty"`
	// NoCgroup is true for a rootless container that runs without a
	// cgroup (rootless_linux.go).
	NoCgroup bool `json:"noCgroup,omitempty"`
	// OwnPIDNamespace is true when the container has a new pid namespace:
	// killing its init then kills every process in it.
	OwnPIDNamespace bool `json:"ownPidNamespace"`
	// Owner is the uid that created the container.
	Owner int `json:"owner"`
	// Hooks are config.json's hooks: start runs poststart, delete poststop.
	Hooks *specs.Hooks `json:"hooks,omitempty"`
}

// Container is one container's state dir, held under its lock.
type Container struct {
	ID    string
	dir   string
	lock  *os.File
	State State
	// init is the container's init when this process started it (run):
	// then Wait can reap it.
	init *exec.Cmd
	// console is the pty master when this process relays the terminal.
	console *os.File
}

// dirOf returns the state dir of id under root.
func dirOf(root, id string) string { return filepath.Join(root, id) }

// lockDir takes an exclusive flock on the state dir; it is released by
// Close or when the process exits.
func lockDir(dir string) (*os.File, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", dir, err)
	}
	return f, nil
}

// Load opens the container id under root, locks it and reads its state.
func Load(root, id string) (*Container, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	dir := dirOf(root, id)
	lock, err := lockDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, err
	}
	c := &Container{ID: id, dir: dir, lock: lock}
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		// create died before it wrote the state: the container is still
		// "creating" and can only be deleted.
		c.State.ID = id
		c.State.Status = specs.StateCreating
		return c, nil
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	if err := json.Unmarshal(data, &c.State); err != nil {
		c.Close()
		return nil, fmt.Errorf("reading state of %q: %w", id, err)
	}
	c.refresh()
	return c, nil
}

// Close releases the container's lock.
func (c *Container) Close() {
	if c.lock != nil {
		c.lock.Close()
		c.lock = nil
	}
}

// refresh derives Status from the kernel: the init alive with the same start
// time means created (exec.fifo still there) or running; anything else is
// stopped.
func (c *Container) refresh() {
	if c.State.Pid == 0 {
		return
	}
	if !processAlive(c.State.Pid, c.State.StartTime) {
		c.State.Status = specs.StateStopped
		return
	}
	if _, err := os.Lstat(filepath.Join(c.dir, fifoName)); err == nil {
		c.State.Status = specs.StateCreated
	} else {
		c.State.Status = specs.StateRunning
	}
	if frozen(c) {
		c.State.Status = StatePaused
	}
}

// save writes state.json atomically: a reader sees the old file or the new
// one, never half of one.
func (c *Container) save() error {
	data, err := json.Marshal(&c.State)
	if err != nil {
		return err
	}
	tmp := filepath.Join(c.dir, stateFile+".tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(c.dir, stateFile))
}

// processAlive reports whether pid is a live (non-zombie) process that
// started at startTime.
func processAlive(pid int, startTime uint64) bool {
	st, state, err := procStat(pid)
	if err != nil {
		return false
	}
	return state != 'Z' && state != 'X' && (startTime == 0 || st == startTime)
}

// procStat returns the start time and the state letter of pid from
// /proc/PID/stat. The comm field may hold spaces and parentheses, so fields
// are counted from the last ')'.
func procStat(pid int) (startTime uint64, state byte, err error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	return parseStat(string(data))
}

func parseStat(s string) (uint64, byte, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return 0, 0, errors.New("malformed /proc/PID/stat")
	}
	f := strings.Fields(s[i+2:])
	// f[0] is field 3 (state); field 22 (starttime) is f[19].
	if len(f) < 20 || len(f[0]) != 1 {
		return 0, 0, errors.New("malformed /proc/PID/stat")
	}
	st, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("malformed /proc/PID/stat: %w", err)
	}
	return st, f[0][0], nil
}

// List returns the state of every container under root.
func List(root string) ([]State, error) {
	entries, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []State
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		c, err := Load(root, e.Name())
		if err != nil {
			continue // deleted while we looked, or not ours
		}
		out = append(out, c.State)
		c.Close()
	}
	return out, nil
}

// ProcessStartTime returns pid's start time in clock ticks since boot: with
// the pid it names one process even after the pid is reused (an engine
// records its monitors this way).
func ProcessStartTime(pid int) (uint64, error) {
	st, _, err := procStat(pid)
	return st, err
}

// ProcessAlive reports whether pid is a live, non-zombie process that
// started at startTime (0: any start time).
func ProcessAlive(pid int, startTime uint64) bool { return processAlive(pid, startTime) }
