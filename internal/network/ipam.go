package network

import (
	"errors"
	"fmt"
	"net/netip"
)

// IPAM: addresses are leased from a network's subnet; the leases are the
// members of its state file, so allocation is a pure function of that file
// and runs under the state lock.

// checkSubnet accepts an IPv4 prefix, without host bits, with room for a
// gateway and at least one container.
func checkSubnet(p netip.Prefix) error {
	if !p.IsValid() || !p.Addr().Is4() {
		return fmt.Errorf("subnet %s: only IPv4 subnets are supported", p)
	}
	if p.Masked() != p {
		return fmt.Errorf("subnet %s has host bits set (did you mean %s?)", p, p.Masked())
	}
	if p.Bits() > 30 {
		return fmt.Errorf("subnet %s is too small: need at least a /30", p)
	}
	if p.Bits() < 8 {
		return fmt.Errorf("subnet %s is too large: at most a /8", p)
	}
	return nil
}

// hostRange returns the first and last assignable address of an IPv4
// subnet: all but the network and broadcast addresses.
func hostRange(p netip.Prefix) (first, last netip.Addr) {
	first = p.Addr().Next()
	b := p.Addr().As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v |= (1<<(32-p.Bits()) - 1)
	bcast := netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	return first, bcast.Prev()
}

// checkGateway validates a gateway given for a subnet.
func checkGateway(p netip.Prefix, gw netip.Addr) error {
	first, last := hostRange(p)
	if !gw.Is4() || gw.Less(first) || last.Less(gw) {
		return fmt.Errorf("gateway %s is not a host address of subnet %s", gw, p)
	}
	return nil
}

// errExhausted is returned when a subnet has no free address.
var errExhausted = errors.New("no free address")

// allocate returns the first free address after last (wrapping around),
// skipping the gateway and used addresses.
func allocate(p netip.Prefix, gw netip.Addr, used map[netip.Addr]bool, last netip.Addr) (netip.Addr, error) {
	first, end := hostRange(p)
	start := first
	if last.IsValid() && p.Contains(last) && last.Less(end) && !last.Less(first) {
		start = last.Next()
	}
	a := start
	for {
		if a != gw && !used[a] {
			return a, nil
		}
		if a == end {
			a = first
		} else {
			a = a.Next()
		}
		if a == start {
			return netip.Addr{}, fmt.Errorf("subnet %s: %w", p, errExhausted)
		}
	}
}

// checkStatic validates an address asked for with --ip.
func checkStatic(p netip.Prefix, gw netip.Addr, used map[netip.Addr]bool, a netip.Addr) error {
	first, last := hostRange(p)
	switch {
	case !a.Is4() || a.Less(first) || last.Less(a):
		return fmt.Errorf("address %s is not a host address of subnet %s", a, p)
	case a == gw:
		return fmt.Errorf("address %s is the network's gateway", a)
	case used[a]:
		return fmt.Errorf("address %s is already in use: %w", a, ErrInUse)
	}
	return nil
}

// pickSubnet returns the first /size prefix of pool overlapping none of
// taken.
func pickSubnet(pool netip.Prefix, size int, taken []netip.Prefix) (netip.Prefix, error) {
	if size < pool.Bits() {
		return netip.Prefix{}, fmt.Errorf("pool %s is smaller than a /%d", pool, size)
	}
	n := 1 << (size - pool.Bits())
	b := pool.Addr().As4()
	base := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	step := uint32(1) << (32 - size)
	for i := range n {
		v := base + uint32(i)*step
		c := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), size)
		if !overlapsAny(c, taken) {
			return c, nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("no free /%d left in %s", size, pool)
}

func overlapsAny(p netip.Prefix, ps []netip.Prefix) bool {
	for _, q := range ps {
		if p.Overlaps(q) {
			return true
		}
	}
	return false
}
