package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/nook-containers/nook/internal/image"
)

// imageCmd is `nook image ...`: Docker's grouped spelling of the image
// commands, plus inspect and prune.
func imageCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "image", Short: "manage images"}
	var all bool
	prune := &cobra.Command{
		Use: "prune [-a]", Short: "remove untagged images (with -a: every image no container uses)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			store, err := e.Images()
			if err != nil {
				return err
			}
			removed, err := store.Prune(all, e.ImageInUse)
			for _, id := range removed {
				fmt.Println("Deleted:", id)
			}
			return err
		},
	}
	prune.Flags().BoolVarP(&all, "all", "a", false, "every image no container uses")
	var format string
	inspect := &cobra.Command{
		Use: "inspect IMAGE...", Short: "show images in detail", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out []any
			for _, a := range args {
				v, err := imageInspect(g, a)
				if err != nil {
					return err
				}
				out = append(out, v)
			}
			return printInspect(format, out)
		},
	}
	inspect.Flags().StringVarP(&format, "format", "f", "", "a Go template")
	cmd.AddCommand(pullCmd(g), pushCmd(g), imagesCmd(g), rmiCmd(g), tagCmd(g), historyCmd(g), importCmd(g),
		saveCmd(g), loadCmd(g), prune, inspect)
	return cmd
}

func importCmd(g *globals) *cobra.Command {
	var changes []string
	var message string
	cmd := &cobra.Command{
		Use:   "import FILE|- [REPOSITORY[:TAG]]",
		Short: "make an image from a root filesystem tarball (docker export's output)",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := imageStore(g)
			if err != nil {
				return err
			}
			var r io.Reader = os.Stdin
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return fmt.Errorf("import: %w", err)
				}
				defer f.Close()
				r = f
			}
			ref := ""
			if len(args) == 2 {
				ref = args[1]
			}
			o := image.ImportOptions{Message: message}
			if err := applyChanges(&o, changes); err != nil {
				return err
			}
			img, err := store.Import(r, ref, o)
			if err != nil {
				return err
			}
			fmt.Println(img.ID)
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&changes, "change", "c", nil, `Dockerfile instruction: CMD ["sh"], ENTRYPOINT, ENV K=V, WORKDIR /dir`)
	cmd.Flags().StringVarP(&message, "message", "m", "", "commit message")
	return cmd
}

func saveCmd(g *globals) *cobra.Command {
	var output, format string
	cmd := &cobra.Command{
		Use:   "save [-o FILE] [--format docker-archive|oci-archive] IMAGE...",
		Short: "write images to a tarball",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := imageStore(g)
			if err != nil {
				return err
			}
			var w io.Writer = os.Stdout
			if output != "" {
				f, err := os.Create(output)
				if err != nil {
					return err
				}
				defer f.Close()
				w = f
			}
			return store.Save(w, args, format)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to FILE instead of stdout")
	cmd.Flags().StringVar(&format, "format", "docker-archive", "docker-archive or oci-archive")
	return cmd
}

func loadCmd(g *globals) *cobra.Command {
	var input string
	cmd := &cobra.Command{
		Use:   "load [-i FILE]",
		Short: "read images from a tarball (docker-archive or OCI layout)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := imageStore(g)
			if err != nil {
				return err
			}
			var r io.Reader = os.Stdin
			if input != "" {
				f, err := os.Open(input)
				if err != nil {
					return err
				}
				defer f.Close()
				r = f
			}
			imgs, err := store.Load(r)
			if err != nil {
				return err
			}
			for _, img := range imgs {
				if len(img.RepoTags) == 0 {
					fmt.Println("Loaded image ID:", img.ID)
				}
				for _, t := range img.RepoTags {
					fmt.Println("Loaded image:", t)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&input, "input", "i", "", "read FILE instead of stdin")
	return cmd
}
