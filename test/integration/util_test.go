package integration

import (
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func itoa(i int) string { return strconv.Itoa(i) }

func specsMount(dest, typ, src string, opts ...string) specs.Mount {
	return specs.Mount{Destination: dest, Type: typ, Source: src, Options: opts}
}
