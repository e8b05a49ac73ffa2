package cgroups

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// In the OCI spec a memory value of 0 means "not set" and -1 "unlimited".
// Writing 0 would make the kernel reclaim or OOM-kill at once, so 0 is
// skipped, as runc does.

func setInt(p *int64) bool { return p != nil && *p != 0 }

// memoryV2 translates to the files of cgroup-v2.rst "Memory Interface Files".
// Swappiness, the OOM killer switch and the kernel-memory limits have no
// v2 file and are ignored (see ignoredV2).
func memoryV2(m *specs.LinuxMemory) ([]write, error) {
	if m == nil {
		return nil, nil
	}
	var w []write
	if setInt(m.Swap) {
		swap, err := swapV2(*m.Swap, m.Limit)
		if err != nil {
			return nil, err
		}
		w = append(w, write{"memory.swap.max", swap})
	}
	if setInt(m.Limit) {
		w = append(w, write{"memory.max", maxOrInt(*m.Limit)})
	}
	if setInt(m.Reservation) {
		w = append(w, write{"memory.low", maxOrInt(*m.Reservation)})
	}
	return w, nil
}

// swapV2 converts the OCI swap value, a memory+swap total as in v1's
// memory.memsw.limit_in_bytes, to v2's memory.swap.max, which limits swap
// alone.
func swapV2(swap int64, limit *int64) (string, error) {
	if swap == -1 {
		return "max", nil
	}
	if !setInt(limit) || *limit == -1 {
		return "", fmt.Errorf("memory+swap limit %d: needs a memory limit on cgroup v2", swap)
	}
	if swap < *limit {
		return "", fmt.Errorf("memory+swap limit %d is below the memory limit %d", swap, *limit)
	}
	return strconv.FormatInt(swap-*limit, 10), nil
}

func maxOrInt(v int64) string {
	if v < 0 {
		return "max"
	}
	return strconv.FormatInt(v, 10)
}

// errNoSwapAccounting: the kernel was booted without swap accounting
// (memory.memsw.* files exist only with CONFIG_MEMCG_SWAP and swapaccount=1).
var errNoSwapAccounting = errors.New("memory+swap limit: not supported by this kernel (no memory.memsw.limit_in_bytes; swap accounting is off)")

// memoryV1 translates to cgroup-v1/memory.rst. hasMemsw says whether
// memory.memsw.limit_in_bytes exists; curMemsw is its current value.
//
// The kernel requires memory.limit_in_bytes <= memory.memsw.limit_in_bytes
// after every single write (memory.rst 2.5 "memsw"), so when the new limit
// is above the current memsw limit, memsw must be raised first; otherwise
// the limit goes first, in case memsw is being lowered below the old limit.
func memoryV1(m *specs.LinuxMemory, hasMemsw bool, curMemsw int64) ([]write, error) {
	if m == nil {
		return nil, nil
	}
	var w []write
	limit := write{"memory.limit_in_bytes", ""}
	if setInt(m.Limit) {
		limit.value = strconv.FormatInt(*m.Limit, 10)
	}
	swap := write{"memory.memsw.limit_in_bytes", ""}
	if setInt(m.Swap) {
		switch {
		case hasMemsw:
			swap.value = strconv.FormatInt(*m.Swap, 10)
		case *m.Swap == -1 || (m.Limit != nil && *m.Swap == *m.Limit):
			// No swap limit wanted beyond what the memory limit gives.
		default:
			return nil, errNoSwapAccounting
		}
	}
	switch {
	case limit.value != "" && swap.value != "" && unlimited(*m.Limit) > unlimited(curMemsw):
		w = append(w, swap, limit)
	default:
		for _, x := range []write{limit, swap} {
			if x.value != "" {
				w = append(w, x)
			}
		}
	}
	if setInt(m.Reservation) {
		w = append(w, write{"memory.soft_limit_in_bytes", strconv.FormatInt(*m.Reservation, 10)})
	}
	if m.Swappiness != nil {
		// memory.rst 5.3: 0..100; the kernel answers a bare EINVAL otherwise.
		if *m.Swappiness > 100 {
			return nil, fmt.Errorf("memory swappiness %d: must be 0 to 100", *m.Swappiness)
		}
		w = append(w, write{"memory.swappiness", strconv.FormatUint(*m.Swappiness, 10)})
	}
	if m.DisableOOMKiller != nil && *m.DisableOOMKiller {
		w = append(w, write{"memory.oom_control", "1"})
	}
	return w, nil
}

// unlimited maps -1 (and the kernel's huge "no limit" values) to the
// largest int64 so limits compare as numbers.
func unlimited(v int64) int64 {
	if v < 0 {
		return math.MaxInt64
	}
	return v
}
