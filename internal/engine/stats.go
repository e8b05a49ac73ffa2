package engine

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nook-containers/nook/internal/runtime/cgroups"
)

// Stats is one `nook stats` sample of a container, in the units Docker
// prints (its --format json keys are the same names).
type Stats struct {
	ID       string  `json:"ID"`
	Name     string  `json:"Name"`
	CPUPerc  float64 `json:"CPUPerc"`
	MemUsage uint64  `json:"MemUsage"`
	MemLimit uint64  `json:"MemLimit"`
	MemPerc  float64 `json:"MemPerc"`
	NetRx    uint64  `json:"NetRx"`
	NetTx    uint64  `json:"NetTx"`
	BlockIn  uint64  `json:"BlockRead"`
	BlockOut uint64  `json:"BlockWrite"`
	PIDs     uint64  `json:"PIDs"`

	cpu  uint64 // cumulative CPU ns, for the next sample's CPUPerc
	when time.Time
}

// Sample reads c's current resource use; prev, when given, is an earlier
// sample for the CPU percentage (CPU time used / wall time elapsed).
func (e *Engine) Sample(c *Container, prev *Stats) (*Stats, error) {
	s := &Stats{ID: c.ID, Name: c.Name, when: time.Now()}
	if !isUp(&c.State) {
		return s, nil
	}
	cg, err := cgroups.New("/nook/"+c.ID, c.ID, e.log)
	if err != nil {
		return nil, err
	}
	st, err := cg.Stats()
	if err != nil {
		return nil, err
	}
	s.cpu, s.MemUsage, s.MemLimit, s.PIDs = st.CPUUsage, st.MemoryUsage, st.MemoryLimit, st.PidsCurrent
	if s.MemLimit == 0 || s.MemLimit > hostMemory() {
		s.MemLimit = hostMemory()
	}
	if s.MemLimit > 0 {
		s.MemPerc = float64(s.MemUsage) / float64(s.MemLimit) * 100
	}
	if prev != nil && s.when.After(prev.when) && s.cpu >= prev.cpu {
		s.CPUPerc = float64(s.cpu-prev.cpu) / float64(s.when.Sub(prev.when).Nanoseconds()) * 100
	}
	if io, err := cgroups.ReadIOStats(cg); err == nil {
		for _, b := range io.ServiceBytes {
			switch b.Op {
			case "Read":
				s.BlockIn += b.Value
			case "Write":
				s.BlockOut += b.Value
			}
		}
	}
	if c.State.Pid != 0 && c.Host.NetworkMode != "host" {
		s.NetRx, s.NetTx = netDev(c.State.Pid)
	}
	return s, nil
}

// netDev sums the bytes received and sent by the interfaces (but lo) of
// pid's network namespace.
func netDev(pid int) (rx, tx uint64) {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "net", "dev"))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || strings.TrimSpace(name) == "lo" {
			continue
		}
		f := strings.Fields(rest)
		if len(f) >= 9 {
			r, _ := strconv.ParseUint(f[0], 10, 64)
			t, _ := strconv.ParseUint(f[8], 10, 64)
			rx, tx = rx+r, tx+t
		}
	}
	return rx, tx
}

// hostMemory is the host's RAM in bytes.
func hostMemory() uint64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "MemTotal:" {
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// Top lists the container's processes: `ps -ef`-style rows read from
// /proc for the pids in its cgroup.
func (e *Engine) Top(c *Container) ([][]string, error) {
	if !isUp(&c.State) {
		return nil, ErrNotRunning
	}
	pids, err := e.rt.pids(c.ID)
	if err != nil {
		return nil, err
	}
	rows := [][]string{{"PID", "PPID", "UID", "STAT", "CMD"}}
	for _, pid := range pids {
		p := strconv.Itoa(pid)
		status, _ := os.ReadFile("/proc/" + p + "/status")
		cmdline, _ := os.ReadFile("/proc/" + p + "/cmdline")
		var ppid, uid, state string
		for _, line := range strings.Split(string(status), "\n") {
			k, v, _ := strings.Cut(line, ":")
			f := strings.Fields(v)
			if len(f) == 0 {
				continue
			}
			switch k {
			case "PPid":
				ppid = f[0]
			case "Uid":
				uid = f[0]
			case "State":
				state = f[0]
			}
		}
		cmd := strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " "))
		rows = append(rows, []string{p, ppid, uid, state, cmd})
	}
	return rows, nil
}

func itoa(n int) string { return strconv.Itoa(n) }
