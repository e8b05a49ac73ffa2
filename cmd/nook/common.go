package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/nook-containers/nook/internal/engine"
)

// container finds a container by name or ID.
func (g *globals) container(ref string) (*engine.Container, error) {
	e, err := g.engine()
	if err != nil {
		return nil, err
	}
	return e.Get(ref)
}

// eachContainer runs f for each name, printing the name on success and
// the error otherwise, as Docker does for stop, rm, kill...; the command
// fails if any did.
func (g *globals) eachContainer(names []string, f func(name string) error) error {
	failed := 0
	for _, n := range names {
		if err := f(n); err != nil {
			fmt.Fprintln(os.Stderr, "nook:", err)
			failed++
			continue
		}
		fmt.Println(n)
	}
	if failed > 0 {
		return exitStatus(1)
	}
	return nil
}

var errNoArgs = errors.New("needs at least one container")
