package engine

import (
	"path/filepath"
	"time"
)

// Inspect is `nook inspect` of a container, in Docker's shape (the fields
// Docker's users template against: .State.Status, .Config.Image,
// .HostConfig.Memory, .NetworkSettings.IPAddress, ...).
type Inspect struct {
	ID              string          `json:"Id"`
	Created         string          `json:"Created"`
	Path            string          `json:"Path"`
	Args            []string        `json:"Args"`
	State           InspectState    `json:"State"`
	Image           string          `json:"Image"`
	ResolvConfPath  string          `json:"ResolvConfPath"`
	HostnamePath    string          `json:"HostnamePath"`
	HostsPath       string          `json:"HostsPath"`
	LogPath         string          `json:"LogPath"`
	Name            string          `json:"Name"`
	RestartCount    int             `json:"RestartCount"`
	Driver          string          `json:"Driver"`
	Platform        string          `json:"Platform"`
	HostConfig      HostConfig      `json:"HostConfig"`
	Mounts          []Mount         `json:"Mounts"`
	Config          Config          `json:"Config"`
	NetworkSettings NetworkSettings `json:"NetworkSettings"`
	GraphDriver     GraphDriver     `json:"GraphDriver"`
}

// InspectState is Docker's .State, plus nook's monitor.
type InspectState struct {
	Status     string `json:"Status"`
	Running    bool   `json:"Running"`
	Paused     bool   `json:"Paused"`
	Restarting bool   `json:"Restarting"`
	OOMKilled  bool   `json:"OOMKilled"`
	Dead       bool   `json:"Dead"`
	Pid        int    `json:"Pid"`
	ExitCode   int    `json:"ExitCode"`
	Error      string `json:"Error"`
	StartedAt  string `json:"StartedAt"`
	FinishedAt string `json:"FinishedAt"`
	// MonitorPid is nook's monitor of this container (0 when none runs).
	MonitorPid int `json:"MonitorPid"`
}

// NetworkSettings is Docker's .NetworkSettings.
type NetworkSettings struct {
	IPAddress  string                       `json:"IPAddress"`
	Gateway    string                       `json:"Gateway"`
	MacAddress string                       `json:"MacAddress"`
	Ports      map[string][]PortBinding     `json:"Ports"`
	Networks   map[string]*EndpointSettings `json:"Networks"`
	SandboxKey string                       `json:"SandboxKey"`
}

// PortBinding is one published port's host side.
type PortBinding struct {
	HostIP   string `json:"HostIp"`
	HostPort string `json:"HostPort"`
}

// EndpointSettings is one network's entry in .NetworkSettings.Networks.
type EndpointSettings struct {
	Aliases     []string `json:"Aliases"`
	NetworkID   string   `json:"NetworkID"`
	IPAddress   string   `json:"IPAddress"`
	IPPrefixLen int      `json:"IPPrefixLen"`
	Gateway     string   `json:"Gateway"`
	MacAddress  string   `json:"MacAddress"`
}

// GraphDriver is Docker's .GraphDriver: where the container's layers are.
type GraphDriver struct {
	Name string            `json:"Name"`
	Data map[string]string `json:"Data"`
}

func dockerTime(t time.Time) string {
	if t.IsZero() {
		return "0001-01-01T00:00:00Z"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// Inspect returns c in Docker's shape.
func (e *Engine) Inspect(c *Container) *Inspect {
	dir := c.dir(e)
	s := c.State
	in := &Inspect{
		ID: c.ID, Created: dockerTime(c.Created), Path: c.Path, Args: c.Args,
		State: InspectState{
			Status: s.Status, Running: s.Status == StatusRunning || s.Status == StatusPaused,
			Paused: s.Status == StatusPaused, Restarting: s.Status == StatusRestarting,
			OOMKilled: s.OOMKilled, Dead: s.Status == StatusDead, Pid: s.Pid, ExitCode: s.ExitCode,
			Error: s.Error, StartedAt: dockerTime(s.StartedAt), FinishedAt: dockerTime(s.FinishedAt),
			MonitorPid: s.MonitorPid,
		},
		Image:          c.ImageID,
		ResolvConfPath: filepath.Join(dir, "resolv.conf"),
		HostnamePath:   filepath.Join(dir, "hostname"),
		HostsPath:      filepath.Join(dir, "hosts"),
		LogPath:        e.logPath(c),
		Name:           "/" + c.Name,
		RestartCount:   s.RestartCount,
		Driver:         "overlay",
		Platform:       "linux",
		HostConfig:     c.Host,
		Mounts:         c.Mounts,
		Config:         c.Config,
		NetworkSettings: NetworkSettings{
			Ports:    map[string][]PortBinding{},
			Networks: map[string]*EndpointSettings{},
		},
		GraphDriver: GraphDriver{Name: "overlay", Data: map[string]string{
			"UpperDir": filepath.Join(dir, "upper"), "WorkDir": filepath.Join(dir, "work"),
			"MergedDir": filepath.Join(dir, "bundle", "rootfs"),
		}},
	}
	if in.Mounts == nil {
		in.Mounts = []Mount{}
	}
	if s.MonitorLost && in.State.Running {
		in.State.Error = "the container's monitor exited unexpectedly; its exit will not be recorded"
	}
	if c.Host.NetworkMode == "none" && s.Pid != 0 {
		in.NetworkSettings.SandboxKey = filepath.Join("/proc", itoa(s.Pid), "ns", "net")
	}
	e.networkSettings(c, &in.NetworkSettings)
	return in
}
