// Package network gives containers their network: a Linux bridge per
// network, a veth pair per attachment, IPv4 addresses from a file-backed
// IPAM, nftables NAT (masquerade, published ports) and isolation rules, a
// persistent network namespace per container, and a DNS server per
// user-defined network (package dns).
//
// It sits between the engine and the runtime in nook's flow: the engine
// calls NewNetns and Attach before the runtime creates the container (the
// OCI spec joins the namespace by path), and Detach/RemoveNetns after the
// container is gone. The design follows Podman's netavark and
// aardvark-dns, in-process and through netlink instead of ip(8) and nft(8).
//
// # State
//
// Everything lives under the root passed to Open (normally
// "<nook root>/network"):
//
//	lock                 flock(2)ed for every operation, so separate nook
//	                     processes serialise on it
//	networks/<name>.json a network, its members (leases) and their ports
//	netns/<container-id> the bind mount that keeps a namespace alive, like
//	                     `ip netns add` (the directory is a shared mount)
//	dns/<name>/          config.json, records.json, pid and log of the
//	                     network's DNS server
//
// # Kernel objects
//
// Bridges are named "nook0" (the default network "bridge", 10.77.0.0/16)
// and "nook1", "nook2"... for user networks, whose /24s come from
// 10.78.0.0/15 unless a subnet is given. Host-side veths are "nk" plus ten
// hex digits of a hash of container ID and network; the container side is
// eth0, eth1... in the order of attachment.
//
// nftables: one table, "inet nook", holds everything (see nft_linux.go for
// the chains). Rules carry a comment ("nook net=NAME" or
// "nook ctr=ID net=NAME") by which they are found and removed; nook never
// lists, flushes or changes any other table.
//
// # Host settings
//
// Creating or attaching to a network sets net.ipv4.ip_forward=1 (needed to
// route between a bridge and the outside; never reset, like Docker and
// Podman) and net.ipv4.conf.<bridge>.route_localnet=1 on nook's own
// non-internal bridges, so that published ports answer on 127.0.0.1 (see
// nft_linux.go for the cost and the guard rule that comes with it).
//
// # Use from the engine
//
//	m, err := network.Open(filepath.Join(root, "network"), log)
//	m.DNSCommand = func(n string) *exec.Cmd {
//		return exec.Command("/proc/self/exe", "dns-server", n)
//	}
//	m.Recover(exists)                  // at startup
//	ns, err := m.NewNetns(id)          // spec: network namespace Path = ns
//	def, err := m.EnsureDefault()      // when no --network is given
//	att, err := m.Attach(network.AttachRequest{ContainerID: id, Netns: ns, Network: def.Name, ...})
//	hosts := network.HostsFile(network.HostsConfig{Hostname: h, Attachments: atts})
//	resolv := network.ResolvConf(network.HostResolvConf(), atts, network.ResolvOptions{})
//	... runtime create, start, the container exits ...
//	m.DetachAll(id); m.RemoveNetns(id)
//
// `nook dns-server` is then just
//
//	cfg, err := dns.LoadConfig(os.Getenv(dns.ConfigEnv))
//	err = dns.Serve(ctx, cfg) // ctx cancelled on SIGTERM
//
// IPv4 only for now.
package network
