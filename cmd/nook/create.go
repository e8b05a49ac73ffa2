package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nook-containers/nook/internal/engine"
	"github.com/nook-containers/nook/internal/network"
)

// createFlags are Docker's container flags, shared by create and run.
type createFlags struct {
	name, workdir, user, hostname, entrypoint, ip                   string
	memory, memorySwap, cpus, cpusetCpus, restart, rootfs, platform string
	env, envFile, volumes, mounts, tmpfs, capAdd, capDrop, secOpts  []string
	ulimits, logOpts, labels, networks, aliases, publish            []string
	tty, interactive, rm, readOnly, privileged, init, rootfsRW      bool
	publishAll                                                      bool
	cpuShares, pidsLimit                                            int64
	pull                                                            string
}

func (f *createFlags) register(fs *pflag.FlagSet) {
	fs.SetInterspersed(false)                       // flags after IMAGE belong to the command
	fs.Bool("help", false, "help for this command") // -h is --hostname, as in Docker
	fs.StringVar(&f.name, "name", "", "the container's name")
	fs.BoolVarP(&f.tty, "tty", "t", false, "give the container a terminal")
	fs.BoolVarP(&f.interactive, "interactive", "i", false, "keep stdin open")
	fs.BoolVar(&f.rm, "rm", false, "remove the container when it exits")
	fs.StringArrayVarP(&f.env, "env", "e", nil, "set an environment variable (KEY=VALUE, or KEY from here)")
	fs.StringArrayVar(&f.envFile, "env-file", nil, "read environment variables from a file")
	fs.StringVarP(&f.workdir, "workdir", "w", "", "working directory inside the container")
	fs.StringVarP(&f.user, "user", "u", "", "USER[:GROUP], names or ids")
	fs.StringVarP(&f.hostname, "hostname", "h", "", "the container's hostname")
	fs.StringVar(&f.entrypoint, "entrypoint", "", "override the image's entrypoint")
	fs.StringArrayVarP(&f.volumes, "volume", "v", nil, "bind mount or volume: SRC:DST[:ro]")
	fs.StringArrayVar(&f.mounts, "mount", nil, "type=bind|volume|tmpfs,source=,target=[,readonly]")
	fs.StringArrayVar(&f.tmpfs, "tmpfs", nil, "mount a tmpfs: DST[:OPTIONS]")
	fs.BoolVar(&f.readOnly, "read-only", false, "mount the root filesystem read-only")
	fs.StringVarP(&f.memory, "memory", "m", "", "memory limit (256m, 1g)")
	fs.StringVar(&f.memorySwap, "memory-swap", "", "memory+swap limit; -1 for unlimited swap")
	fs.StringVar(&f.cpus, "cpus", "", "number of CPUs (0.5)")
	fs.Int64VarP(&f.cpuShares, "cpu-shares", "c", 0, "relative CPU weight")
	fs.StringVar(&f.cpusetCpus, "cpuset-cpus", "", "CPUs to run on (0-1, 0,2)")
	fs.Int64Var(&f.pidsLimit, "pids-limit", 0, fmt.Sprintf("process limit (default %d; -1 for none)", engine.DefaultPidsLimit))
	fs.StringArrayVar(&f.ulimits, "ulimit", nil, "resource limit NAME=SOFT[:HARD]")
	fs.StringArrayVar(&f.capAdd, "cap-add", nil, "add a capability")
	fs.StringArrayVar(&f.capDrop, "cap-drop", nil, "drop a capability")
	fs.BoolVar(&f.privileged, "privileged", false, "every capability, no seccomp, all devices")
	fs.StringArrayVar(&f.secOpts, "security-opt", nil, "seccomp=unconfined|FILE, no-new-privileges, apparmor=, label=")
	fs.StringVar(&f.restart, "restart", "no", "no, on-failure[:N], always, unless-stopped")
	fs.BoolVar(&f.init, "init", false, "run a minimal init as PID 1 that reaps zombies and forwards signals")
	fs.StringArrayVar(&f.logOpts, "log-opt", nil, "log options: max-size=10m, max-file=3")
	fs.StringArrayVarP(&f.labels, "label", "l", nil, "set a label KEY=VALUE")
	fs.StringVar(&f.rootfs, "rootfs", "", "run on this directory instead of an image (not modified: an overlay on top)")
	fs.BoolVar(&f.rootfsRW, "rootfs-rw", false, "with --rootfs: write to the directory itself")
	fs.StringArrayVar(&f.networks, "network", nil, "bridge (default), none, host, container:NAME, or a network's name; repeat to join several")
	fs.StringArrayVar(&f.aliases, "network-alias", nil, "another DNS name on user-defined networks")
	fs.StringVar(&f.ip, "ip", "", "a fixed IPv4 address on the first network")
	fs.StringArrayVarP(&f.publish, "publish", "p", nil, "publish a port: [HOSTIP:][HOSTPORT:]PORT[/tcp|udp], ranges allowed")
	fs.BoolVarP(&f.publishAll, "publish-all", "P", false, "publish every port the image exposes on a random host port")
	fs.StringVar(&f.platform, "platform", "", "pull this platform if the image is missing (linux/arm64)")
	fs.StringVar(&f.pull, "pull", "missing", "missing or never")
}

// options checks every flag and returns the engine's create options for
// args (IMAGE [CMD...], or CMD... with --rootfs).
func (f *createFlags) options(g *globals, cmd *cobra.Command, args []string) (engine.CreateOptions, error) {
	o := engine.CreateOptions{Name: f.name, WorkingDir: f.workdir, User: f.user, Hostname: f.hostname,
		Tty: f.tty, OpenStdin: f.interactive, Volumes: f.volumes, Mounts: f.mounts, Tmpfs: f.tmpfs,
		Rootfs: f.rootfs, Platform: f.platform}
	if f.rootfs != "" {
		o.Cmd = args
	} else {
		if len(args) == 0 {
			return o, fmt.Errorf("%q requires at least 1 argument: IMAGE [COMMAND] [ARG...]", cmd.CommandPath())
		}
		o.Image, o.Cmd = args[0], args[1:]
	}
	if f.rootfsRW && f.rootfs == "" {
		return o, fmt.Errorf("--rootfs-rw needs --rootfs DIR")
	}
	if cmd.Flags().Changed("entrypoint") {
		ep := []string{f.entrypoint}
		o.Entrypoint = &ep
	}
	for _, file := range f.envFile {
		env, err := engine.ReadEnvFile(file)
		if err != nil {
			return o, err
		}
		o.Env = append(o.Env, env...)
	}
	o.Env = append(o.Env, engine.ExpandEnv(f.env)...)
	for _, l := range f.labels {
		k, v, _ := strings.Cut(l, "=")
		if o.Labels == nil {
			o.Labels = map[string]string{}
		}
		o.Labels[k] = v
	}
	h := &o.Host
	var err error
	if h.Memory, err = engine.ParseMemory("--memory", f.memory); err != nil {
		return o, err
	}
	if h.MemorySwap, err = engine.ParseMemory("--memory-swap", f.memorySwap); err != nil {
		return o, err
	}
	if h.MemorySwap > 0 && h.Memory == 0 {
		return o, fmt.Errorf("--memory-swap needs --memory as well")
	}
	if h.MemorySwap > 0 && h.MemorySwap < h.Memory {
		return o, fmt.Errorf("invalid --memory-swap %q: it is memory plus swap, so it must be at least --memory", f.memorySwap)
	}
	if h.Memory > 0 && h.Memory < 6<<20 {
		return o, fmt.Errorf("invalid --memory %q: the minimum is 6m", f.memory)
	}
	if h.NanoCpus, err = engine.ParseCPUs(f.cpus); err != nil {
		return o, err
	}
	if f.pidsLimit < -1 {
		return o, fmt.Errorf("invalid --pids-limit %d: want a positive number, or -1 for no limit", f.pidsLimit)
	}
	h.PidsLimit = f.pidsLimit
	if f.pidsLimit == -1 {
		h.PidsLimit = -1
	}
	h.CPUShares, h.CpusetCpus = f.cpuShares, f.cpusetCpus
	for _, u := range f.ulimits {
		ul, err := engine.ParseUlimit(u)
		if err != nil {
			return o, err
		}
		h.Ulimits = append(h.Ulimits, ul)
	}
	if h.RestartPolicy, err = engine.ParseRestart(f.restart); err != nil {
		return o, err
	}
	if f.rm && h.RestartPolicy.Name != "no" {
		return o, fmt.Errorf("--rm and --restart %s cannot be used together", f.restart)
	}
	if h.LogConfig, err = engine.ParseLogOpts(f.logOpts); err != nil {
		return o, err
	}
	h.AutoRemove, h.ReadonlyRootfs, h.Privileged, h.Init, h.RootfsRW = f.rm, f.readOnly, f.privileged, f.init, f.rootfsRW
	h.CapAdd, h.CapDrop, h.SecurityOpt = f.capAdd, f.capDrop, f.secOpts
	h.NetworkMode = "bridge"
	if len(f.networks) > 0 {
		if h.NetworkMode, err = engine.ParseNetworkMode(f.networks[0]); err != nil {
			return o, err
		}
		h.ExtraNetworks = f.networks[1:]
		if (h.NetworkMode == "host" || h.NetworkMode == "none") && len(h.ExtraNetworks) > 0 {
			return o, fmt.Errorf("--network %s cannot be combined with other networks", h.NetworkMode)
		}
	}
	h.Aliases, h.IP, h.PublishAll = f.aliases, f.ip, f.publishAll
	for _, p := range f.publish {
		ports, err := network.ParsePublish(p)
		if err != nil {
			return o, err
		}
		h.PortBindings = append(h.PortBindings, ports...)
	}
	h.Binds = f.volumes
	switch f.pull {
	case "missing":
		o.Pull = func(ref string) error { return pullImage(g, ref, pullOpts{platform: f.platform}) }
	case "never":
	default:
		return o, fmt.Errorf("invalid --pull %q: want missing or never", f.pull)
	}
	return o, nil
}

func createCmd(g *globals) *cobra.Command {
	f := &createFlags{}
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "create a container without starting it",
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			o, err := f.options(g, cmd, args)
			if err != nil {
				return err
			}
			c, err := e.Create(o)
			if err != nil {
				return err
			}
			fmt.Fprintln(os.Stdout, c.ID)
			return nil
		},
	}
	f.register(cmd.Flags())
	return cmd
}
