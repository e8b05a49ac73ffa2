package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/nook-containers/nook/internal/image"
)

// imageRow is one line of `images`, with Docker's --format json keys.
type imageRow struct {
	Repository   string `json:"Repository"`
	Tag          string `json:"Tag"`
	ID           string `json:"ID"`
	Digest       string `json:"Digest"`
	CreatedSince string `json:"CreatedSince"`
	CreatedAt    string `json:"CreatedAt"`
	Size         string `json:"Size"`
}

func imageStore(g *globals) (*image.Store, error) {
	e, err := g.engine()
	if err != nil {
		return nil, err
	}
	return e.Images()
}

func imagesCmd(g *globals) *cobra.Command {
	var quiet, noTrunc bool
	var format string
	cmd := &cobra.Command{
		Use:     "images [-q] [--format json|TEMPLATE]",
		Aliases: []string{"ls"},
		Short:   "list images",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := imageStore(g)
			if err != nil {
				return err
			}
			imgs, err := store.List()
			if err != nil {
				return err
			}
			var rows []imageRow
			for _, img := range imgs {
				id := strings.TrimPrefix(img.ID, "sha256:")
				if !noTrunc {
					id = id[:12]
				}
				base := imageRow{ID: id, Digest: img.Digest, CreatedSince: ago(img.Created),
					CreatedAt: img.Created.Local().Format("2006-01-02 15:04:05 -0700 MST"), Size: bytesSI(uint64(img.Size))}
				if len(img.RepoTags) == 0 {
					base.Repository, base.Tag = "<none>", "<none>"
					// Pulled by digest only: the repository is known, the tag is not.
					if len(img.RepoDigests) > 0 {
						name, _, _ := strings.Cut(img.RepoDigests[0], "@")
						if ref, err := image.ParseReference(name); err == nil {
							fam := ref.Familiar()
							base.Repository = strings.TrimSuffix(fam, ":"+ref.Tag)
						}
					}
					rows = append(rows, base)
				}
				for _, t := range img.RepoTags {
					r := base
					if ref, err := image.ParseReference(t); err == nil {
						fam := ref.Familiar()
						r.Repository, r.Tag = strings.TrimSuffix(fam, ":"+ref.Tag), ref.Tag
					} else {
						r.Repository = t
					}
					rows = append(rows, r)
				}
			}
			switch {
			case quiet:
				seen := map[string]bool{}
				for _, r := range rows {
					if !seen[r.ID] {
						fmt.Println(r.ID)
						seen[r.ID] = true
					}
				}
			case format == "json":
				enc := json.NewEncoder(os.Stdout)
				for _, r := range rows {
					enc.Encode(r)
				}
			case format != "" && format != "table":
				return printTemplate(format, rows)
			default:
				tw := tabwriter.NewWriter(os.Stdout, 0, 8, 3, ' ', 0)
				fmt.Fprintln(tw, "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE")
				for _, r := range rows {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Repository, r.Tag, r.ID, r.CreatedSince, r.Size)
				}
				tw.Flush()
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "only IDs")
	cmd.Flags().BoolVar(&noTrunc, "no-trunc", false, "full IDs")
	cmd.Flags().StringVar(&format, "format", "", "json, or a Go template such as {{.Repository}}")
	return cmd
}

func rmiCmd(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "rmi [-f] IMAGE...",
		Short: "remove images (refused while a container uses one, unless -f)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			store, err := e.Images()
			if err != nil {
				return err
			}
			failed := false
			for _, ref := range args {
				if err := removeImage(store, e.ImageInUse, ref, force); err != nil {
					fmt.Fprintln(os.Stderr, "nook:", err)
					failed = true
				}
			}
			if failed {
				return exitStatus(1)
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "remove even if containers use it")
	return cmd
}

// removeImage is Docker's rmi: by a tag with other tags left, just untag;
// otherwise delete the image, unless a container uses it.
func removeImage(store *image.Store, inUse func(string) bool, ref string, force bool) error {
	img, err := store.Get(ref)
	if err != nil {
		return err
	}
	byTag := !strings.HasPrefix(strings.TrimPrefix(img.ID, "sha256:"), strings.TrimPrefix(ref, "sha256:"))
	if byTag && len(img.RepoTags) > 1 && !force {
		if err := store.Untag(ref); err != nil {
			return err
		}
		fmt.Println("Untagged:", ref)
		return nil
	}
	if inUse(img.ID) && !force {
		return fmt.Errorf("unable to remove %s: image is in use by a container (rm the container or use -f)", ref)
	}
	if err := store.Remove(img.ID); err != nil {
		return err
	}
	for _, t := range img.RepoTags {
		fmt.Println("Untagged:", t)
	}
	fmt.Println("Deleted:", img.ID)
	return nil
}

func tagCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "tag SOURCE TARGET",
		Short: "give an image another name",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := imageStore(g)
			if err != nil {
				return err
			}
			return store.Tag(args[0], args[1])
		},
	}
}

func historyCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "history IMAGE",
		Short: "show how an image was built",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := imageStore(g)
			if err != nil {
				return err
			}
			img, err := store.Get(args[0])
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(os.Stdout, 0, 8, 3, ' ', 0)
			fmt.Fprintln(tw, "CREATED\tCREATED BY\tCOMMENT")
			h := store.History(img)
			for i := len(h) - 1; i >= 0; i-- {
				by := h[i].CreatedBy
				if len(by) > 60 {
					by = by[:59] + "…"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", ago(h[i].Created.Time), by, h[i].Comment)
			}
			return tw.Flush()
		},
	}
}

// imageInspect is inspect's image case: Docker's image JSON.
func imageInspect(g *globals, ref string) (any, error) {
	store, err := imageStore(g)
	if err != nil {
		return nil, err
	}
	img, err := store.Get(ref)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"Id": img.ID, "RepoTags": nonNil(img.RepoTags), "RepoDigests": nonNil(img.RepoDigests),
		"Created": img.Created, "Size": img.Size, "Architecture": img.Config.Architecture,
		"Variant": img.Config.Variant, "Os": img.Config.OS, "Config": img.Config.Config,
		"RootFS": map[string]any{"Type": img.Config.RootFS.Type, "Layers": img.Config.RootFS.DiffIDs},
		"Author": img.Config.Author, "History": img.Config.History,
	}, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
