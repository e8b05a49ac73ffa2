package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/nook-containers/nook/internal/image"
)

// pullOpts are pull's flags, also used by run's implicit pull.
type pullOpts struct {
	platform string
	tls      *bool
	quiet    bool
}

func pullImage(g *globals, ref string, o pullOpts) error {
	e, err := g.engine()
	if err != nil {
		return err
	}
	store, err := e.Images()
	if err != nil {
		return err
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, unix.SIGTERM)
	defer cancel()
	po := image.PullOptions{Platform: o.platform, TLSVerify: o.tls, InsecureRegistries: g.insecure}
	if !o.quiet {
		po.Progress, po.Terminal = os.Stderr, term.IsTerminal(int(os.Stderr.Fd()))
	}
	// Pull itself reports the digest and status, as Docker's last lines.
	_, err = store.Pull(ctx, ref, po)
	return err
}

func pullCmd(g *globals) *cobra.Command {
	var o pullOpts
	var tlsVerify bool
	cmd := &cobra.Command{
		Use:   "pull [--platform OS/ARCH] [--tls-verify=false] IMAGE",
		Short: "download an image from a registry",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("tls-verify") {
				o.tls = &tlsVerify
			}
			if err := pullImage(g, args[0], o); err != nil {
				return err
			}
			r, err := image.ParseReference(args[0])
			if err == nil {
				fmt.Println(r.String())
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&o.platform, "platform", "", "OS/ARCH[/VARIANT] of a multi-platform image (default: this host's)")
	cmd.Flags().BoolVar(&tlsVerify, "tls-verify", true, "verify the registry's certificate; false also allows plain http")
	cmd.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "no progress")
	return cmd
}

func pushCmd(g *globals) *cobra.Command {
	var tlsVerify bool
	cmd := &cobra.Command{
		Use:   "push [--tls-verify=false] IMAGE",
		Short: "upload an image to a registry",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.engine()
			if err != nil {
				return err
			}
			store, err := e.Images()
			if err != nil {
				return err
			}
			po := image.PushOptions{Progress: os.Stderr, InsecureRegistries: g.insecure}
			if cmd.Flags().Changed("tls-verify") {
				po.TLSVerify = &tlsVerify
			}
			ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, unix.SIGTERM)
			defer cancel()
			return store.Push(ctx, args[0], po)
		},
	}
	cmd.Flags().BoolVar(&tlsVerify, "tls-verify", true, "verify the registry's certificate; false also allows plain http")
	return cmd
}
