package monitor

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Config is what the full monitor hands to the lean one, on its command
// line: `nook-monitor --root ROOT ID JSON` (the root and ID in plain
// sight, for ps and for tools that find a root's processes by --root).
type Config struct {
	Root string `json:"-"`
	ID   string `json:"-"`
	// Init is the container's init: our child, or an orphaned descendant
	// we reap as the subreaper.
	Init int `json:"init"`
	// Stdout and Stderr are the read ends of the container's output
	// pipes; Console is its pty master instead. -1: none.
	Stdout  int `json:"stdout"`
	Stderr  int `json:"stderr"`
	Console int `json:"console"`
	// Attached: fds 0-2 are the client's; output goes to 1 and 2 too.
	Attached bool `json:"attached,omitempty"`
	// Stdin: copy fd 0 to the console (-it). Winch: keep the console's
	// size equal to fd 0's, updated on SIGWINCH (the client sends it).
	Stdin bool `json:"stdin,omitempty"`
	Winch bool `json:"winch,omitempty"`
	// Log is the json-file log; LogMaxSize and LogMaxFile its rotation
	// (0: jsonlog's defaults).
	Log        string `json:"log"`
	LogMaxSize int64  `json:"logMaxSize,omitempty"`
	LogMaxFile int    `json:"logMaxFile,omitempty"`
	// Resume is the full monitor's argv, executed once the init has
	// exited, with "--exited=CODE" (and "--exit-error=MSG" when waiting
	// failed) appended.
	Resume []string `json:"resume"`
}

// Args is the lean monitor's argv, exe first.
func (c *Config) Args(exe string) ([]string, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	data, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	return []string{exe, "--root", c.Root, c.ID, string(data)}, nil
}

// Parse reads the lean monitor's arguments (argv without the program).
func Parse(args []string) (*Config, error) {
	if len(args) != 4 || args[0] != "--root" {
		return nil, errors.New("usage: nook-monitor --root ROOT ID CONFIG (started by nook container-monitor, not by hand)")
	}
	c := &Config{Stdout: -1, Stderr: -1, Console: -1}
	if err := json.Unmarshal([]byte(args[3]), c); err != nil {
		return nil, fmt.Errorf("reading the monitor's config: %w", err)
	}
	c.Root, c.ID = args[1], args[2]
	if err := c.check(); err != nil {
		return nil, err
	}
	return c, nil
}

// check: fds 0-2 are the monitor's own stdio, never the container's
// streams, and there is either a console or both pipes.
func (c *Config) check() error {
	switch {
	case c.Root == "" || c.ID == "":
		return errors.New("monitor config: no root or container ID")
	case c.Init <= 1:
		return fmt.Errorf("monitor config: invalid init pid %d", c.Init)
	case c.Log == "":
		return errors.New("monitor config: no log path")
	case len(c.Resume) == 0 || c.Resume[0] == "":
		return errors.New("monitor config: no command to resume with")
	case c.Console >= 0 && (c.Stdout >= 0 || c.Stderr >= 0):
		return errors.New("monitor config: both a console and pipes")
	case c.Console < 0 && (c.Stdout < 3 || c.Stderr < 3):
		return fmt.Errorf("monitor config: invalid output fds %d, %d", c.Stdout, c.Stderr)
	case c.Console >= 0 && c.Console < 3:
		return fmt.Errorf("monitor config: invalid console fd %d", c.Console)
	case (c.Stdin || c.Winch) && (c.Console < 0 || !c.Attached):
		return errors.New("monitor config: terminal relay without an attached console")
	}
	return nil
}
