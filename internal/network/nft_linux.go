package network

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

// nook's nftables table (default "inet nook"), written through netlink in
// batches that the kernel applies atomically, one per operation:
//
//	set bridges      { type ifname }        every nook bridge
//	chain forward    filter hook forward priority filter; policy accept
//	  ct state established,related accept
//	  (internal networks, inserted first)
//	    iifname BR oifname != BR drop; oifname BR iifname != BR drop
//	  oifname @bridges ct status dnat accept      published ports
//	  (other networks)
//	    iifname BR oifname @bridges oifname != BR drop   isolation
//	    iifname BR accept                               to the outside
//	    oifname BR drop                                 no unpublished way in
//	chain guard      filter hook prerouting priority raw; policy accept
//	  iifname @bridges ip daddr 127.0.0.0/8 drop     route_localnet guard
//	chain prerouting nat hook prerouting priority dstnat: jump hostports
//	chain output     nat hook output priority dstnat:     jump hostports
//	chain hostports  (per published port)
//	  [ip daddr HOSTIP] fib daddr type local PROTO dport HP dnat ip to CIP:CP
//	chain postrouting nat hook postrouting priority srcnat
//	  (non-internal networks)
//	    ip saddr SUBNET oifname != BR masquerade        to the outside
//	    oifname BR ip saddr SUBNET ct status dnat masquerade   hairpin
//	    oifname BR ip saddr 127.0.0.0/8 masquerade      localhost
//
// Published ports on localhost: the output chain DNATs a connection to
// 127.0.0.1:HP to the container, but the kernel refuses to route a packet
// with a loopback source out of a non-loopback device unless the device
// has route_localnet=1 (net/ipv4/route.c, __mkroute_output), so nook sets
// it on its non-internal bridges (like Docker without userland-proxy, and
// netavark) and masquerades the loopback source to the bridge address. The
// cost: route_localnet also stops the bridge from dropping packets *to*
// 127.0.0.0/8 as martians, so a container could reach the host's
// loopback-only services (the kube-proxy CVE-2020-8558 pattern); the guard
// rule above drops those. It runs before conntrack (priority raw), where
// the replies to host->container connections still carry the bridge
// address, not yet the 127.0.0.1 that un-NATing restores. The alternative, a userland proxy process per
// port, costs a process and a copy per connection and hides client
// addresses.
//
// Every rule carries a comment, "nook net=NAME" or "nook ctr=ID net=NAME",
// by which it is found and deleted.

const (
	chainForward     = "forward"
	chainGuard       = "guard"
	chainPrerouting  = "prerouting"
	chainOutput      = "output"
	chainPostrouting = "postrouting"
	chainHostports   = "hostports"
	setBridges       = "bridges"
	tagBase          = "nook base"
)

func netTag(network string) string { return "nook net=" + network }

func portTag(containerID, network string) string {
	return "nook ctr=" + containerID + " net=" + network
}

// parsePortTag returns the container and network of a port rule's comment.
func parsePortTag(tag string) (containerID, network string, ok bool) {
	rest, ok := strings.CutPrefix(tag, "nook ctr=")
	if !ok {
		return "", "", false
	}
	containerID, network, ok = strings.Cut(rest, " net=")
	return containerID, network, ok
}

// nft is one batch against nook's table.
type nft struct {
	m *Manager
	c *nftables.Conn
	t *nftables.Table
}

func (m *Manager) nft() (*nft, error) {
	c, err := nftables.New()
	if err != nil {
		return nil, fmt.Errorf("opening nftables netlink: %w", err)
	}
	return &nft{m: m, c: c, t: &nftables.Table{Family: nftables.TableFamilyINet, Name: m.cfg.table}}, nil
}

// bridgeSet is the set of nook's bridge names. (The byte order only tells
// nft(8) how to print the names: ifname is a host-order string type.)
func (n *nft) bridgeSet() *nftables.Set {
	return &nftables.Set{Table: n.t, Name: setBridges, KeyType: nftables.TypeIFName, KeyByteOrder: binaryutil.NativeEndian}
}

func (n *nft) chain(name string) *nftables.Chain { return &nftables.Chain{Name: name, Table: n.t} }

func (n *nft) flush(what string) error {
	n.m.log.Debug("nft flush", "table", "inet "+n.t.Name, "batch", what)
	if err := n.c.Flush(); err != nil {
		return fmt.Errorf("nftables: %s: %w", what, err)
	}
	return nil
}

// exists reports whether nook's table is there.
func (n *nft) exists() (bool, error) {
	_, err := n.c.ListTableOfFamily(n.t.Name, n.t.Family)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, unix.ENOENT) {
		return false, nil
	}
	return false, fmt.Errorf("looking up nftables table inet %s: %w", n.t.Name, err)
}

// ensureTable creates the table with its set, chains and base rules, in one
// batch, unless it exists.
func (n *nft) ensureTable() error {
	ok, err := n.exists()
	if err != nil || ok {
		return err
	}
	accept := nftables.ChainPolicyAccept
	n.c.AddTable(n.t)
	set := n.bridgeSet()
	if err := n.c.AddSet(set, nil); err != nil {
		return fmt.Errorf("nftables: adding set %s: %w", setBridges, err)
	}
	base := func(name string, typ nftables.ChainType, hook *nftables.ChainHook, prio *nftables.ChainPriority) {
		n.c.AddChain(&nftables.Chain{Name: name, Table: n.t, Type: typ, Hooknum: hook, Priority: prio, Policy: &accept})
	}
	base(chainForward, nftables.ChainTypeFilter, nftables.ChainHookForward, nftables.ChainPriorityFilter)
	base(chainGuard, nftables.ChainTypeFilter, nftables.ChainHookPrerouting, nftables.ChainPriorityRaw)
	base(chainPrerouting, nftables.ChainTypeNAT, nftables.ChainHookPrerouting, nftables.ChainPriorityNATDest)
	base(chainOutput, nftables.ChainTypeNAT, nftables.ChainHookOutput, nftables.ChainPriorityNATDest)
	base(chainPostrouting, nftables.ChainTypeNAT, nftables.ChainHookPostrouting, nftables.ChainPriorityNATSource)
	n.c.AddChain(&nftables.Chain{Name: chainHostports, Table: n.t})

	n.add(chainForward, tagBase, ctState(expr.CtStateBitESTABLISHED|expr.CtStateBitRELATED), verdict(expr.VerdictAccept))
	n.add(chainForward, tagBase, lookupIfname(expr.MetaKeyOIFNAME, set), ctStatusDNAT(), verdict(expr.VerdictAccept))
	n.add(chainGuard, tagBase, lookupIfname(expr.MetaKeyIIFNAME, set), ipv4(),
		ipPrefix(16, netip.MustParsePrefix("127.0.0.0/8")), verdict(expr.VerdictDrop))
	for _, c := range []string{chainPrerouting, chainOutput} {
		n.add(c, tagBase, []expr.Any{&expr.Verdict{Kind: expr.VerdictJump, Chain: chainHostports}})
	}
	return n.flush("creating table inet " + n.t.Name)
}

// add queues a rule built from expression groups.
func (n *nft) add(chain, tag string, groups ...[]expr.Any) {
	n.c.AddRule(n.rule(chain, tag, groups))
}

// insert queues a rule at the top of its chain.
func (n *nft) insert(chain, tag string, groups ...[]expr.Any) {
	n.c.InsertRule(n.rule(chain, tag, groups))
}

func (n *nft) rule(chain, tag string, groups [][]expr.Any) *nftables.Rule {
	var exprs []expr.Any
	for _, g := range groups {
		exprs = append(exprs, g...)
	}
	n.m.log.Debug("nft add rule", "table", "inet "+n.t.Name, "chain", chain, "comment", tag)
	return &nftables.Rule{
		Table:    n.t,
		Chain:    n.chain(chain),
		Exprs:    exprs,
		UserData: userdata.AppendString(nil, userdata.TypeComment, tag),
	}
}

// deleteTagged queues the deletion of the rules of chain whose comment
// satisfies match.
func (n *nft) deleteTagged(chain string, match func(tag string) bool) error {
	rules, err := n.c.GetRules(n.t, n.chain(chain))
	if err != nil {
		return fmt.Errorf("nftables: listing chain %s: %w", chain, err)
	}
	for _, r := range rules {
		tag, _ := userdata.GetString(r.UserData, userdata.TypeComment)
		if !match(tag) {
			continue
		}
		r.Table, r.Chain = n.t, n.chain(chain)
		n.m.log.Debug("nft delete rule", "table", "inet "+n.t.Name, "chain", chain, "handle", r.Handle, "comment", tag)
		if err := n.c.DelRule(r); err != nil {
			return fmt.Errorf("nftables: deleting rule %d: %w", r.Handle, err)
		}
	}
	return nil
}

// tags returns the comments of a chain's rules.
func (n *nft) tags(chain string) ([]string, error) {
	rules, err := n.c.GetRules(n.t, n.chain(chain))
	if err != nil {
		return nil, fmt.Errorf("nftables: listing chain %s: %w", chain, err)
	}
	var out []string
	for _, r := range rules {
		tag, _ := userdata.GetString(r.UserData, userdata.TypeComment)
		out = append(out, tag)
	}
	return out, nil
}

// ensureNetworkRules adds a network's rules unless they are there (they
// are added in one batch, so one rule present means all are).
func (m *Manager) ensureNetworkRules(s *netState) error {
	n, err := m.nft()
	if err != nil {
		return err
	}
	if err := n.ensureTable(); err != nil {
		return err
	}
	tags, err := n.tags(chainForward)
	if err != nil {
		return err
	}
	tag := netTag(s.Name)
	for _, t := range tags {
		if t == tag {
			return nil
		}
	}
	set := n.bridgeSet()
	if err := n.c.SetAddElements(set, []nftables.SetElement{{Key: ifnameKey(s.Bridge)}}); err != nil {
		return fmt.Errorf("nftables: adding %s to set %s: %w", s.Bridge, setBridges, err)
	}
	br := s.Bridge
	if s.Internal {
		n.insert(chainForward, tag, ifname(expr.MetaKeyIIFNAME, br, true), ifname(expr.MetaKeyOIFNAME, br, false), verdict(expr.VerdictDrop))
		n.insert(chainForward, tag, ifname(expr.MetaKeyOIFNAME, br, true), ifname(expr.MetaKeyIIFNAME, br, false), verdict(expr.VerdictDrop))
		return n.flush("adding rules of network " + s.Name)
	}
	n.add(chainForward, tag, ifname(expr.MetaKeyIIFNAME, br, true), lookupIfname(expr.MetaKeyOIFNAME, set),
		ifname(expr.MetaKeyOIFNAME, br, false), verdict(expr.VerdictDrop))
	n.add(chainForward, tag, ifname(expr.MetaKeyIIFNAME, br, true), verdict(expr.VerdictAccept))
	n.add(chainForward, tag, ifname(expr.MetaKeyOIFNAME, br, true), verdict(expr.VerdictDrop))
	n.add(chainPostrouting, tag, ipv4(), ipPrefix(12, s.Subnet), ifname(expr.MetaKeyOIFNAME, br, false), masq())
	n.add(chainPostrouting, tag, ipv4(), ifname(expr.MetaKeyOIFNAME, br, true), ipPrefix(12, s.Subnet), ctStatusDNAT(), masq())
	n.add(chainPostrouting, tag, ipv4(), ifname(expr.MetaKeyOIFNAME, br, true),
		ipPrefix(12, netip.MustParsePrefix("127.0.0.0/8")), masq())
	return n.flush("adding rules of network " + s.Name)
}

// removeNetworkRules deletes a network's rules and its set element.
func (m *Manager) removeNetworkRules(s *netState) error {
	n, err := m.nft()
	if err != nil {
		return err
	}
	if ok, err := n.exists(); err != nil || !ok {
		return err
	}
	tag := netTag(s.Name)
	is := func(t string) bool { return t == tag || strings.HasSuffix(t, " net="+s.Name) }
	for _, c := range []string{chainForward, chainPostrouting, chainHostports} {
		if err := n.deleteTagged(c, is); err != nil {
			return err
		}
	}
	set := n.bridgeSet()
	elems, err := n.c.GetSetElements(set)
	if err != nil {
		return fmt.Errorf("nftables: listing set %s: %w", setBridges, err)
	}
	for _, e := range elems {
		if strings.TrimRight(string(e.Key), "\x00") == s.Bridge {
			if err := n.c.SetDeleteElements(set, []nftables.SetElement{{Key: ifnameKey(s.Bridge)}}); err != nil {
				return fmt.Errorf("nftables: removing %s from set %s: %w", s.Bridge, setBridges, err)
			}
		}
	}
	return n.flush("removing rules of network " + s.Name)
}

// addPortRules publishes a member's ports.
func (m *Manager) addPortRules(s *netState, mb *member) error {
	if len(mb.Ports) == 0 {
		return nil
	}
	n, err := m.nft()
	if err != nil {
		return err
	}
	tag := portTag(mb.ContainerID, s.Name)
	for _, p := range mb.Ports {
		g := [][]expr.Any{ipv4()}
		if p.HostIP != "" {
			g = append(g, ipPrefix(16, netip.PrefixFrom(netip.MustParseAddr(p.HostIP), 32)))
		}
		proto := byte(unix.IPPROTO_TCP)
		if p.Protocol == "udp" {
			proto = unix.IPPROTO_UDP
		}
		g = append(g, fibDaddrLocal(), l4proto(proto), dport(p.HostPort), dnat(mb.IP, p.ContainerPort))
		n.add(chainHostports, tag, g...)
	}
	return n.flush("publishing ports of container " + mb.ContainerID)
}

// removePortRules deletes the port rules of a container on a network.
// network "" means on every network.
func (m *Manager) removePortRules(containerID, network string) error {
	n, err := m.nft()
	if err != nil {
		return err
	}
	if ok, err := n.exists(); err != nil || !ok {
		return err
	}
	tag := portTag(containerID, network)
	match := func(t string) bool { return t == tag }
	if network == "" { // any network
		match = func(t string) bool { id, _, ok := parsePortTag(t); return ok && id == containerID }
	}
	if err := n.deleteTagged(chainHostports, match); err != nil {
		return err
	}
	return n.flush("unpublishing ports of container " + containerID)
}

// deleteTable removes nook's whole table.
func (m *Manager) deleteTable() error {
	n, err := m.nft()
	if err != nil {
		return err
	}
	if ok, err := n.exists(); err != nil || !ok {
		return err
	}
	m.log.Debug("nft delete table", "table", "inet "+n.t.Name)
	n.c.DelTable(n.t)
	return n.flush("deleting table inet " + n.t.Name)
}

// Expression builders. Register 1 holds what is compared.

func ifnameKey(name string) []byte {
	b := make([]byte, 16)
	copy(b, name)
	return b
}

func ifname(key expr.MetaKey, name string, eq bool) []expr.Any {
	op := expr.CmpOpEq
	if !eq {
		op = expr.CmpOpNeq
	}
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Cmp{Op: op, Register: 1, Data: []byte(name + "\x00")},
	}
}

func lookupIfname(key expr.MetaKey, set *nftables.Set) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Lookup{SourceRegister: 1, SetName: set.Name, SetID: set.ID},
	}
}

func ipv4() []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.NFPROTO_IPV4}},
	}
}

// ipPrefix matches the IPv4 source (offset 12) or destination (16).
func ipPrefix(offset uint32, p netip.Prefix) []expr.Any {
	mask := make([]byte, 4)
	for i := range p.Bits() {
		mask[i/8] |= 0x80 >> (i % 8)
	}
	addr := p.Masked().Addr().As4()
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: addr[:]},
	}
}

func ctState(bits uint32) []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(bits), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
	}
}

// ctStatusDNAT matches connections nook (or anyone) destination-NATed:
// IPS_DST_NAT, include/uapi/linux/netfilter/nf_conntrack_common.h.
func ctStatusDNAT() []expr.Any {
	const ipsDstNAT = 1 << 5
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATUS},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(ipsDstNAT), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
	}
}

func fibDaddrLocal() []expr.Any {
	return []expr.Any{
		&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)},
	}
}

func l4proto(p byte) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{p}},
	}
}

func dport(port uint16) []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(port)},
	}
}

func dnat(ip netip.Addr, port uint16) []expr.Any {
	a := ip.As4()
	return []expr.Any{
		&expr.Immediate{Register: 1, Data: a[:]},
		&expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(port)},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2, Specified: true},
	}
}

func masq() []expr.Any { return []expr.Any{&expr.Masq{}} }

func verdict(k expr.VerdictKind) []expr.Any { return []expr.Any{&expr.Verdict{Kind: k}} }
