package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/nook-containers/nook/internal/image"
	"github.com/nook-containers/nook/internal/network"
)

// containerName is what Docker accepts as --name.
var containerName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// Create makes a container's record, directories and volumes, leaving it
// "created". Everything is checked before anything is written, and a
// failure part-way removes what was made.
func (e *Engine) Create(o CreateOptions) (*Container, error) {
	if o.Name != "" && !containerName.MatchString(o.Name) {
		return nil, fmt.Errorf("invalid container name %q: use letters, digits, '_', '.', '-'", o.Name)
	}
	if err := validateCaps(&o.Host); err != nil {
		return nil, err
	}
	mounts, err := parseMounts(o.Volumes, o.Mounts, o.Tmpfs)
	if err != nil {
		return nil, err
	}
	c := &Container{
		ID:      randomID(),
		Created: time.Now().UTC(),
		Host:    o.Host,
		Mounts:  mounts,
	}
	c.Config = Config{
		User: o.User, Tty: o.Tty, OpenStdin: o.OpenStdin, WorkingDir: o.WorkingDir,
		Labels: o.Labels, Hostname: o.Hostname,
	}
	if c.Config.Hostname == "" {
		c.Config.Hostname = c.ID[:12]
	}
	if c.Host.LogConfig.Type == "" {
		c.Host.LogConfig = LogConfig{Type: "json-file", Config: map[string]string{}}
	}
	if c.Host.RestartPolicy.Name == "" {
		c.Host.RestartPolicy.Name = "no"
	}
	if c.Host.NetworkMode == "" || c.Host.NetworkMode == "default" {
		c.Host.NetworkMode = "bridge"
	}
	if err := e.fillFromImage(c, o); err != nil {
		return nil, err
	}
	c.Config.Env = append(c.Config.Env, o.Env...)
	if len(c.Config.Entrypoint)+len(c.Config.Cmd) == 0 {
		return nil, errors.New("no command specified")
	}
	if c.Host.PublishAll {
		for p := range c.Config.ExposedPorts {
			port, proto, _ := strings.Cut(p, "/")
			n, err := strconv.ParseUint(port, 10, 16)
			if err != nil {
				continue
			}
			if proto == "" {
				proto = "tcp"
			}
			c.Host.PortBindings = append(c.Host.PortBindings, network.PortMapping{ContainerPort: uint16(n), Protocol: proto})
		}
	}
	if err := e.resolveNetworkMode(&c.Host); err != nil {
		return nil, err
	}
	if err := e.checkNetworks(c); err != nil {
		return nil, err
	}
	all := append(append([]string{}, c.Config.Entrypoint...), c.Config.Cmd...)
	c.Path, c.Args = all[0], all[1:]

	unlock, err := e.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if c.Name, err = e.allocateName(o.Name); err != nil {
		return nil, err
	}
	dir := c.dir(e)
	if err := os.Mkdir(dir, 0o711); err != nil {
		return nil, fmt.Errorf("making %s: %w", dir, err)
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(dir)
		}
	}()
	for _, d := range []string{"bundle", "bundle/rootfs", "upper", "work"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	if err := e.prepareMounts(c.Mounts); err != nil {
		return nil, err
	}
	if err := e.writeEtcFiles(c); err != nil {
		return nil, err
	}
	c.State = State{Status: StatusCreated}
	if err := e.saveState(c); err != nil {
		return nil, err
	}
	// container.json last: its presence is what makes the container exist.
	if err := writeJSON(filepath.Join(dir, "container.json"), c, true); err != nil {
		return nil, err
	}
	ok = true
	e.log.Debug("container created", "id", c.ID, "name", c.Name)
	return c, nil
}

// fillFromImage finds (or pulls) the image and takes its config, with the
// run flags on top: Docker's entrypoint/cmd rules.
func (e *Engine) fillFromImage(c *Container, o CreateOptions) error {
	var cfgCmd, cfgEntry, cfgEnv []string
	var cfgDir, cfgUser, stopSignal string
	if o.Rootfs != "" {
		abs, err := filepath.Abs(o.Rootfs)
		if err != nil {
			return err
		}
		if st, err := os.Stat(abs); err != nil || !st.IsDir() {
			return fmt.Errorf("--rootfs %s: not a directory", o.Rootfs)
		}
		c.Rootfs, c.Image = abs, abs
	} else {
		img, err := e.findImage(o.Image, o.Pull)
		if err != nil {
			return err
		}
		c.ImageID = img.ID
		c.Image = o.Image
		cfg := img.Config.Config
		cfgCmd, cfgEntry, cfgEnv = cfg.Cmd, cfg.Entrypoint, cfg.Env
		cfgDir, cfgUser, stopSignal = cfg.WorkingDir, cfg.User, cfg.StopSignal
		if c.Config.Labels == nil && len(cfg.Labels) > 0 {
			c.Config.Labels = cfg.Labels
		}
		c.Config.ExposedPorts = cfg.ExposedPorts
	}
	c.Config.Image = c.Image
	c.Config.Env = cfgEnv
	c.Config.StopSignal = stopSignal
	if c.Config.WorkingDir == "" {
		c.Config.WorkingDir = cfgDir
	}
	if c.Config.User == "" {
		c.Config.User = cfgUser
	}
	if o.Entrypoint != nil {
		c.Config.Entrypoint = nil
		if len(*o.Entrypoint) > 0 && (*o.Entrypoint)[0] != "" {
			c.Config.Entrypoint = *o.Entrypoint
		}
		c.Config.Cmd = o.Cmd
	} else {
		c.Config.Entrypoint = cfgEntry
		c.Config.Cmd = cfgCmd
		if len(o.Cmd) > 0 {
			c.Config.Cmd = o.Cmd
		}
	}
	return nil
}

// findImage returns the image ref names, building the built-in default
// image or pulling when it is missing.
func (e *Engine) findImage(ref string, pull func(string) error) (*image.Image, error) {
	store, err := e.Images()
	if err != nil {
		return nil, err
	}
	img, err := store.Get(ref)
	if err == nil || !errors.Is(err, image.ErrNotFound) {
		return img, err
	}
	if r, perr := image.ParseReference(ref); perr == nil && r.String() == image.DefaultImage {
		return store.EnsureDefault()
	}
	if pull == nil {
		return nil, err
	}
	if perr := pull(ref); perr != nil {
		if errors.Is(perr, image.ErrNotFound) || errors.Is(perr, image.ErrInvalidReference) {
			return nil, perr
		}
		return nil, fmt.Errorf("%w: %s (not here, and pulling it failed: %v)", image.ErrNotFound, ref, perr)
	}
	return store.Get(ref)
}

// allocateName returns name, or a generated one, checking it is free.
// Callers hold the engine lock.
func (e *Engine) allocateName(name string) (string, error) {
	all, err := e.List()
	if err != nil {
		return "", err
	}
	taken := map[string]bool{}
	for _, c := range all {
		taken[c.Name] = true
	}
	if name != "" {
		if taken[name] {
			return "", fmt.Errorf("%w: the container name %q is already in use; remove it or pick another", ErrNameInUse, name)
		}
		return name, nil
	}
	for {
		if n := generateName(); !taken[n] {
			return n, nil
		}
	}
}
