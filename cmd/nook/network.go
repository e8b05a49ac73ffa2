package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/nook-containers/nook/internal/engine"
	"github.com/nook-containers/nook/internal/network"
	"github.com/nook-containers/nook/internal/network/dns"
)

func networkCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "network", Short: "manage networks"}
	var o network.CreateOptions
	create := &cobra.Command{
		Use: "create [--subnet CIDR] [--gateway IP] [--internal] NAME", Short: "create a bridge network", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := g.network()
			if err != nil {
				return err
			}
			n, err := m.Create(args[0], o)
			if err != nil {
				return err
			}
			fmt.Println(n.ID)
			return nil
		},
	}
	create.Flags().StringVar(&o.Subnet, "subnet", "", "IPv4 subnet (default: a free /24)")
	create.Flags().StringVar(&o.Gateway, "gateway", "", "the bridge's address (default: the subnet's first)")
	create.Flags().BoolVar(&o.Internal, "internal", false, "no route out, no NAT, no published ports")
	ls := &cobra.Command{
		Use: "ls", Aliases: []string{"list"}, Short: "list networks", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := g.network()
			if err != nil {
				return err
			}
			if _, err := m.EnsureDefault(); err != nil {
				return err
			}
			nets, err := m.List()
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(os.Stdout, 0, 8, 3, ' ', 0)
			fmt.Fprintln(tw, "NETWORK ID\tNAME\tDRIVER\tSUBNET\tINTERNAL")
			for _, n := range nets {
				fmt.Fprintf(tw, "%s\t%s\tbridge\t%s\t%v\n", short(n.ID), n.Name, n.Subnet, n.Internal)
			}
			return tw.Flush()
		},
	}
	inspect := &cobra.Command{
		Use: "inspect NETWORK...", Short: "show networks in detail", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := g.network()
			if err != nil {
				return err
			}
			var out []any
			for _, a := range args {
				n, err := m.Get(a)
				if err != nil {
					return err
				}
				out = append(out, map[string]any{"Name": n.Name, "Id": n.ID, "Created": n.Created, "Driver": "bridge",
					"Internal": n.Internal, "IPAM": map[string]any{"Config": []map[string]string{{"Subnet": n.Subnet.String(), "Gateway": n.Gateway.String()}}},
					"Options": map[string]string{"com.docker.network.bridge.name": n.Bridge}})
			}
			data, _ := json.MarshalIndent(out, "", "    ")
			fmt.Println(string(data))
			return nil
		},
	}
	rm := &cobra.Command{
		Use: "rm NETWORK...", Aliases: []string{"remove"}, Short: "remove networks no container uses", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := g.network()
			if err != nil {
				return err
			}
			failed := false
			for _, a := range args {
				if err := m.Remove(a); err != nil {
					fmt.Fprintln(os.Stderr, "nook:", err)
					failed = true
					continue
				}
				fmt.Println(a)
			}
			if failed {
				return exitStatus(1)
			}
			return nil
		},
	}
	prune := &cobra.Command{
		Use: "prune", Short: "remove networks no container uses, and leftovers of crashed containers", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			if err := e.RecoverNetworks(); err != nil {
				return err
			}
			m, _ := e.Network()
			nets, err := m.List()
			if err != nil {
				return err
			}
			for _, n := range nets {
				if n.Name != network.DefaultNetwork && m.Remove(n.Name) == nil {
					fmt.Println("Deleted:", n.Name)
				}
			}
			return nil
		},
	}
	var aliases []string
	var ip string
	connect := &cobra.Command{
		Use: "connect [--alias A] [--ip IP] NETWORK CONTAINER", Short: "attach a running container to a network", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.container(args[1])
			if err != nil {
				return err
			}
			return g.eng.Connect(c, args[0], aliases, ip)
		},
	}
	connect.Flags().StringArrayVar(&aliases, "alias", nil, "another DNS name on this network")
	connect.Flags().StringVar(&ip, "ip", "", "a fixed address")
	disconnect := &cobra.Command{
		Use: "disconnect NETWORK CONTAINER", Short: "detach a container from a network", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.container(args[1])
			if err != nil {
				return err
			}
			return g.eng.Disconnect(c, args[0])
		},
	}
	cmd.AddCommand(create, ls, inspect, rm, prune, connect, disconnect)
	return cmd
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// network opens the engine's network manager.
func (g *globals) network() (*network.Manager, error) {
	e, err := g.engine()
	if err != nil {
		return nil, err
	}
	return e.Network()
}

func portCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "port CONTAINER", Short: "list a container's published ports", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.container(args[0])
			if err != nil {
				return err
			}
			for _, p := range g.eng.Ports(c) {
				fmt.Println(p)
			}
			return nil
		},
	}
}

// dnsServerCmd is the hidden `nook dns-server NETWORK`: one network's DNS
// server, started and stopped by internal/network.
func dnsServerCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: engine.DNSServerArg + " NETWORK", Hidden: true, Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := dns.LoadConfig(os.Getenv(dns.ConfigEnv))
			if err != nil {
				return err
			}
			if err := dns.AwaitStart(); err != nil {
				return err
			}
			ctx, cancel := signal.NotifyContext(context.Background(), unix.SIGTERM, unix.SIGINT)
			defer cancel()
			return dns.Serve(ctx, cfg)
		},
	}
}

func systemCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "system", Short: "nook as a whole"}
	var force bool
	reset := &cobra.Command{
		Use: "reset [-f]", Short: "remove every container, image, volume and network nook made", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !force {
				return fmt.Errorf("reset removes everything under %s and nook's networks; run it with -f", g.root)
			}
			e, err := g.engine()
			if err != nil {
				return err
			}
			return e.Reset()
		},
	}
	reset.Flags().BoolVarP(&force, "force", "f", false, "do it")
	prune := &cobra.Command{
		Use: "prune", Short: "remove stopped containers, untagged images and crashed containers' leftovers", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			removed, err := e.Prune()
			if err != nil {
				return err
			}
			fmt.Printf("Deleted containers: %d\n", len(removed))
			if err := e.RecoverNetworks(); err != nil {
				return err
			}
			store, err := e.Images()
			if err != nil {
				return err
			}
			imgs, err := store.Prune(false, e.ImageInUse)
			fmt.Printf("Deleted images: %d\n", len(imgs))
			return err
		},
	}
	info := &cobra.Command{
		Use: "info", Short: "what nook runs on", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			for _, l := range e.Info() {
				fmt.Println(strings.TrimSpace(l))
			}
			return nil
		},
	}
	cmd.AddCommand(reset, prune, info)
	return cmd
}
