package main

import (
	"fmt"
	"os"
	"slices"
)

// cat copies file to stdout.
func cat(file string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(b)
	return err
}

// ls prints the names in dir, one a line, sorted.
func ls(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("reading %s: %w", dir, err)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Println(n)
	}
	return nil
}
