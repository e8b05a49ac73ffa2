package engine

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/nook-containers/nook/internal/runtime"
)

// CreateOptions is what `nook create` and `nook run` were asked, already
// parsed by the CLI into Docker's shapes.
type CreateOptions struct {
	Name       string
	Image      string // reference; "" with Rootfs
	Rootfs     string // --rootfs DIR
	Cmd        []string
	Entrypoint *[]string // --entrypoint (set, possibly to "")
	Env        []string
	WorkingDir string
	User       string
	Hostname   string
	Tty        bool
	OpenStdin  bool
	Volumes    []string // -v
	Mounts     []string // --mount
	Tmpfs      []string // --tmpfs DST[:OPTIONS]
	Labels     map[string]string
	Host       HostConfig
	Platform   string // for the implicit pull
	// Pull is called when the image is not present (the CLI prints
	// progress); nil means a missing image is an error.
	Pull func(ref string) error
}

// ParseMemory reads a --memory style size: "256m", "1g", "1048576".
func ParseMemory(flag, s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	if s == "-1" && flag == "--memory-swap" {
		return -1, nil
	}
	n, err := runtime.ParseSize(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid %s %q: want a size such as 256m or 1g", flag, s)
	}
	return n, nil
}

// ParseCPUs reads --cpus "0.5" into Docker's NanoCpus.
func ParseCPUs(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) || f > 1e6 {
		return 0, fmt.Errorf("invalid --cpus %q: want a number of CPUs such as 0.5", s)
	}
	return int64(f * 1e9), nil
}

// ParseRestart reads --restart no|on-failure[:N]|always|unless-stopped.
func ParseRestart(s string) (RestartPolicy, error) {
	name, count, hasCount := strings.Cut(s, ":")
	p := RestartPolicy{Name: name}
	switch name {
	case "", "no":
		p.Name = "no"
		if hasCount {
			return p, fmt.Errorf("invalid --restart %q: only on-failure takes a count", s)
		}
	case "always", "unless-stopped":
		if hasCount {
			return p, fmt.Errorf("invalid --restart %q: only on-failure takes a count", s)
		}
	case "on-failure":
		if hasCount {
			n, err := strconv.Atoi(count)
			if err != nil || n < 0 {
				return p, fmt.Errorf("invalid --restart %q: the count must be a number >= 0", s)
			}
			p.MaximumRetryCount = n
		}
	default:
		return p, fmt.Errorf("invalid --restart %q: want no, on-failure[:N], always or unless-stopped", s)
	}
	return p, nil
}

// rlimitNames maps --ulimit names to the OCI rlimit types.
var rlimitNames = map[string]string{
	"core": "RLIMIT_CORE", "cpu": "RLIMIT_CPU", "data": "RLIMIT_DATA", "fsize": "RLIMIT_FSIZE",
	"locks": "RLIMIT_LOCKS", "memlock": "RLIMIT_MEMLOCK", "msgqueue": "RLIMIT_MSGQUEUE",
	"nice": "RLIMIT_NICE", "nofile": "RLIMIT_NOFILE", "nproc": "RLIMIT_NPROC", "rss": "RLIMIT_RSS",
	"rtprio": "RLIMIT_RTPRIO", "rttime": "RLIMIT_RTTIME", "sigpending": "RLIMIT_SIGPENDING",
	"stack": "RLIMIT_STACK", "as": "RLIMIT_AS",
}

// ParseUlimit reads --ulimit NAME=SOFT[:HARD].
func ParseUlimit(s string) (Ulimit, error) {
	name, val, ok := strings.Cut(s, "=")
	if !ok || rlimitNames[name] == "" {
		return Ulimit{}, fmt.Errorf("invalid --ulimit %q: want NAME=SOFT[:HARD] with NAME one of nofile, nproc, core, ...", s)
	}
	softS, hardS, hasHard := strings.Cut(val, ":")
	soft, err := strconv.ParseInt(softS, 10, 64)
	hard := soft
	if err == nil && hasHard {
		hard, err = strconv.ParseInt(hardS, 10, 64)
	}
	if err != nil || soft < -1 || hard < -1 || (hard != -1 && soft > hard) {
		return Ulimit{}, fmt.Errorf("invalid --ulimit %q: soft and hard must be numbers, soft <= hard", s)
	}
	return Ulimit{Name: name, Soft: soft, Hard: hard}, nil
}

// ParseLogOpts reads --log-opt KEY=VALUE (max-size, max-file).
func ParseLogOpts(opts []string) (LogConfig, error) {
	lc := LogConfig{Type: "json-file", Config: map[string]string{}}
	for _, o := range opts {
		k, v, ok := strings.Cut(o, "=")
		if !ok {
			return lc, fmt.Errorf("invalid --log-opt %q: want KEY=VALUE", o)
		}
		switch k {
		case "max-size":
			if n, err := runtime.ParseSize(v); err != nil || n <= 0 {
				return lc, fmt.Errorf("invalid --log-opt %q: max-size wants a size such as 10m", o)
			}
		case "max-file":
			if n, err := strconv.Atoi(v); err != nil || n < 1 {
				return lc, fmt.Errorf("invalid --log-opt %q: max-file wants a number >= 1", o)
			}
		default:
			return lc, fmt.Errorf("invalid --log-opt %q: nook knows max-size and max-file", o)
		}
		lc.Config[k] = v
	}
	return lc, nil
}

// ReadEnvFile reads an --env-file: KEY=VALUE lines, # comments, and bare
// KEY taken from nook's own environment, as Docker.
func ReadEnvFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading --env-file: %w", err)
	}
	defer f.Close()
	var env []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimLeft(sc.Text(), " \t")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, _, ok := strings.Cut(line, "=")
		if k == "" || strings.ContainsAny(k, " \t") {
			return nil, fmt.Errorf("reading --env-file %s: line %d: invalid variable name %q", path, n, k)
		}
		if !ok {
			v, set := os.LookupEnv(k)
			if !set {
				continue
			}
			line = k + "=" + v
		}
		env = append(env, line)
	}
	return env, sc.Err()
}

// ExpandEnv turns -e KEY (no "=") into KEY=VALUE from nook's environment,
// dropping it when unset, as Docker.
func ExpandEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		if strings.Contains(kv, "=") {
			out = append(out, kv)
		} else if v, ok := os.LookupEnv(kv); ok {
			out = append(out, kv+"="+v)
		}
	}
	return out
}
