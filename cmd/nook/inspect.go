package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/nook-containers/nook/internal/engine"
	"github.com/nook-containers/nook/internal/image"
)

func inspectCmd(g *globals) *cobra.Command {
	var format, typ string
	cmd := &cobra.Command{
		Use:   "inspect [--format TEMPLATE] NAME...",
		Short: "show containers or images in detail (Docker's JSON)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			var out []any
			for _, name := range args {
				if typ != "image" {
					c, err := e.Get(name)
					if err == nil {
						out = append(out, e.Inspect(c))
						continue
					}
					if typ == "container" || !errors.Is(err, engine.ErrNoSuchContainer) {
						return err
					}
				}
				img, err := imageInspect(g, name)
				if errors.Is(err, image.ErrNotFound) && typ == "" {
					return fmt.Errorf("no such object: %s", name)
				} else if err != nil {
					return err
				}
				out = append(out, img)
			}
			return printInspect(format, out)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "a Go template such as {{.State.Status}}")
	cmd.Flags().StringVar(&typ, "type", "", "container or image")
	return cmd
}

// printInspect prints a JSON array, or each item through a template. The
// template sees the JSON form (maps), as Docker's does, so that field
// names are the JSON keys.
func printInspect(format string, items []any) error {
	if format == "" {
		data, err := json.MarshalIndent(items, "", "    ")
		if err != nil {
			return err
		}
		fmt.Fprintln(os.Stdout, string(data))
		return nil
	}
	var generic []any
	for _, it := range items {
		data, _ := json.Marshal(it)
		var m any
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber() // 67108864, not 6.7108864e+07
		dec.Decode(&m)
		generic = append(generic, m)
	}
	return printTemplate(format, generic)
}
