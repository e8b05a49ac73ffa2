package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/nook-containers/nook/internal/runtime"
	"github.com/nook-containers/nook/internal/runtime/cgroups"
)

func eventsCmd(g *globals) *cobra.Command {
	var stats bool
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "events [--stats] [--interval 5s] CONTAINER_ID",
		Short: "print the container's resource use and OOM kills as JSON lines",
		Long: `events prints {"type":"stats","id":ID,"data":{...}} every --interval, and
{"type":"oom","id":ID} when the OOM killer kills a process in the container,
until the container stops. With --stats it prints one stats line and exits.
The data has runc's shape (cpu, memory, pids, blkio).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if interval <= 0 {
				return errors.New("duration interval must be greater than 0")
			}
			c, err := runtime.Load(g.root, args[0])
			if err != nil {
				return err
			}
			// Read what is needed and let go of the lock: events runs for
			// the container's whole life, and delete must not wait for it.
			st := c.State
			c.Close()
			if st.Status == "stopped" || !st.Alive() {
				return fmt.Errorf("container with id %s is not running", st.ID)
			}
			w := &eventWriter{enc: json.NewEncoder(os.Stdout), id: st.ID}
			if stats {
				s, err := runtime.StatsOf(&st, g.log)
				if err != nil {
					return err
				}
				return w.stats(s, ioStats(&st, g.log))
			}
			return watch(w, &st, interval, g.log)
		},
	}
	cmd.Flags().BoolVar(&stats, "stats", false, "print the container's stats once and exit")
	cmd.Flags().DurationVar(&interval, "interval", 5*time.Second, "time between stats lines")
	return cmd
}

// oomPoll is how often the OOM kill count and the init's liveness are
// checked between stats lines.
const oomPoll = 200 * time.Millisecond

// watch prints stats every interval and an oom event whenever the OOM kill
// count grows, until the container's init dies.
func watch(w *eventWriter, st *runtime.State, interval time.Duration, log *slog.Logger) error {
	var ooms uint64
	if s, err := runtime.StatsOf(st, log); err == nil {
		ooms = s.OOMKills
	}
	next := time.Now().Add(interval)
	for {
		alive := st.Alive()
		s, err := runtime.StatsOf(st, log)
		if err != nil {
			if !alive {
				return nil // the cgroup went with the container
			}
			log.Error("reading stats", "id", st.ID, "err", err)
		} else {
			for ; ooms < s.OOMKills; ooms++ {
				if err := w.write(event{Type: "oom", ID: st.ID}); err != nil {
					return err
				}
			}
			if !time.Now().Before(next) {
				if err := w.stats(s, ioStats(st, log)); err != nil {
					return err
				}
				next = next.Add(interval)
				if now := time.Now(); next.Before(now) {
					next = now.Add(interval)
				}
			}
		}
		if !alive {
			return nil
		}
		time.Sleep(min(oomPoll, time.Until(next)))
	}
}

type eventWriter struct {
	enc *json.Encoder
	id  string
}

func (w *eventWriter) write(e event) error {
	if err := w.enc.Encode(e); err != nil && !errors.Is(err, io.ErrClosedPipe) {
		return err
	}
	return nil
}

func (w *eventWriter) stats(s *cgroups.Stats, io *cgroups.IOStats) error {
	return w.write(event{Type: "stats", ID: w.id, Data: statsData(s, io)})
}

// ioStats reads the block I/O counts; they are optional, so a failure is
// only logged.
func ioStats(st *runtime.State, log *slog.Logger) *cgroups.IOStats {
	io, err := runtime.IOStatsOf(st, log)
	if err != nil {
		log.Debug("reading block I/O stats", "id", st.ID, "err", err)
		return &cgroups.IOStats{}
	}
	return io
}

// event and the types below are runc's types/events.go, the part nook
// fills. Field names and JSON tags must stay as they are there: tools
// decode them.
type event struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Data any    `json:"data,omitempty"`
}

type statsJSON struct {
	CPU    cpuJSON    `json:"cpu"`
	Memory memoryJSON `json:"memory"`
	Pids   pidsJSON   `json:"pids"`
	Blkio  blkioJSON  `json:"blkio"`
}

type cpuJSON struct {
	Usage cpuUsageJSON `json:"usage,omitempty"`
}

type cpuUsageJSON struct {
	Total  uint64 `json:"total,omitempty"` // nanoseconds
	Kernel uint64 `json:"kernel"`
	User   uint64 `json:"user"`
}

type memoryEntryJSON struct {
	Limit   uint64 `json:"limit"`
	Usage   uint64 `json:"usage,omitempty"`
	Max     uint64 `json:"max,omitempty"`
	Failcnt uint64 `json:"failcnt"`
}

type memoryJSON struct {
	Usage memoryEntryJSON `json:"usage,omitempty"`
}

type pidsJSON struct {
	Current uint64 `json:"current,omitempty"`
	Limit   uint64 `json:"limit,omitempty"`
}

type blkioEntryJSON struct {
	Major uint64 `json:"major,omitempty"`
	Minor uint64 `json:"minor,omitempty"`
	Op    string `json:"op,omitempty"`
	Value uint64 `json:"value,omitempty"`
}

type blkioJSON struct {
	IoServiceBytesRecursive []blkioEntryJSON `json:"ioServiceBytesRecursive,omitempty"`
	IoServicedRecursive     []blkioEntryJSON `json:"ioServicedRecursive,omitempty"`
}

// noLimit is how runc reports "no memory limit": the largest value.
const noLimit = ^uint64(0)

func statsData(s *cgroups.Stats, io *cgroups.IOStats) *statsJSON {
	limit := s.MemoryLimit
	if limit == 0 {
		limit = noLimit
	}
	return &statsJSON{
		CPU: cpuJSON{Usage: cpuUsageJSON{Total: s.CPUUsage}},
		Memory: memoryJSON{Usage: memoryEntryJSON{
			Limit: limit, Usage: s.MemoryUsage, Max: s.MemoryMaxUsage,
		}},
		Pids: pidsJSON{Current: s.PidsCurrent, Limit: s.PidsLimit},
		Blkio: blkioJSON{
			IoServiceBytesRecursive: blkioEntries(io.ServiceBytes),
			IoServicedRecursive:     blkioEntries(io.Serviced),
		},
	}
}

func blkioEntries(in []cgroups.BlkioEntry) []blkioEntryJSON {
	var out []blkioEntryJSON
	for _, e := range in {
		out = append(out, blkioEntryJSON(e))
	}
	return out
}
