package engine

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// ErrVolumeInUse: rm of a volume a container still names.
var ErrVolumeInUse = errors.New("volume is in use")

// Volume is a named volume: a directory under the root that outlives the
// containers using it.
type Volume struct {
	Name       string    `json:"Name"`
	Driver     string    `json:"Driver"`
	Mountpoint string    `json:"Mountpoint"`
	CreatedAt  time.Time `json:"CreatedAt"`
}

func (e *Engine) volumeDir(name string) string { return filepath.Join(e.root, "volumes", name) }

// CreateVolume makes volume name if it does not exist and returns the
// directory containers mount.
func (e *Engine) CreateVolume(name string) (string, error) {
	if !volumeName.MatchString(name) {
		return "", fmt.Errorf("invalid volume name %q: use letters, digits, '_', '.', '-'", name)
	}
	data := filepath.Join(e.volumeDir(name), "_data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return "", fmt.Errorf("creating volume %s: %w", name, err)
	}
	return data, nil
}

// Volumes lists the named volumes.
func (e *Engine) Volumes() ([]Volume, error) {
	entries, err := os.ReadDir(filepath.Join(e.root, "volumes"))
	if err != nil {
		return nil, err
	}
	var out []Volume
	for _, ent := range entries {
		info, err := ent.Info()
		if err != nil || !ent.IsDir() {
			continue
		}
		out = append(out, Volume{Name: ent.Name(), Driver: "local", Mountpoint: filepath.Join(e.volumeDir(ent.Name()), "_data"), CreatedAt: info.ModTime()})
	}
	return out, nil
}

// volumeUsers names the containers whose mounts use volume name.
func (e *Engine) volumeUsers(name string) ([]string, error) {
	all, err := e.List()
	if err != nil {
		return nil, err
	}
	var users []string
	for _, c := range all {
		if slices.ContainsFunc(c.Mounts, func(m Mount) bool { return m.Type == "volume" && m.Name == name }) {
			users = append(users, c.Name)
		}
	}
	return users, nil
}

// RemoveVolume deletes a volume no container uses (any container, unless
// force).
func (e *Engine) RemoveVolume(name string, force bool) error {
	unlock, err := e.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := os.Stat(e.volumeDir(name)); err != nil {
		return fmt.Errorf("no such volume: %s", name)
	}
	if users, err := e.volumeUsers(name); err != nil {
		return err
	} else if len(users) > 0 && !force {
		return fmt.Errorf("%w: %s is used by %v", ErrVolumeInUse, name, users)
	}
	return os.RemoveAll(e.volumeDir(name))
}

// PruneVolumes removes every volume no container uses.
func (e *Engine) PruneVolumes() ([]string, error) {
	vols, err := e.Volumes()
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, v := range vols {
		if e.RemoveVolume(v.Name, false) == nil {
			removed = append(removed, v.Name)
		}
	}
	return removed, nil
}

// randomID is a 64-hex-digit ID, as Docker's.
func randomID() string {
	var b [32]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
