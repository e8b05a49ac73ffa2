package image

import (
	"context"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// PushOptions configures Push.
type PushOptions struct {
	TLSVerify          *bool     // nil = default; false = skip verification and allow http
	InsecureRegistries []string  // hosts (host:port) treated as insecure
	Progress           io.Writer // where progress goes; nil = quiet
}

// Push uploads the local image named ref to the registry ref names. The stored manifest is sent as
// is, so the pushed image has the digest it has locally.
func (s *Store) Push(ctx context.Context, ref string, o PushOptions) error {
	r, err := ParseReference(ref)
	if err != nil {
		return err
	}
	local, err := s.Get(ref)
	if err != nil {
		return err
	}
	img, err := s.v1Image(local.ID)
	if err != nil {
		return err
	}
	nref, ropts, err := remoteRef(ctx, r, o.TLSVerify, o.InsecureRegistries)
	if err != nil {
		return err
	}
	wait := func() {}
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "Pushing %s (%d layers)\n", r.Familiar(), len(local.Config.RootFS.DiffIDs))
		updates := make(chan v1.Update, 16)
		done := make(chan struct{})
		// remote.Write closes updates when it returns.
		go func() {
			defer close(done)
			var last v1.Update
			for u := range updates {
				if u.Error == nil {
					last = u
				}
			}
			if last.Total > 0 {
				fmt.Fprintf(o.Progress, "Pushed %d of %d bytes\n", last.Complete, last.Total)
			}
		}()
		ropts = append(ropts, remote.WithProgress(updates))
		wait = func() { <-done }
	}
	s.log.Debug("pushing image", "ref", r.String(), "id", local.ID)
	err = remote.Write(nref, img, ropts...)
	wait()
	if err != nil {
		return registryError("pushing", r, err)
	}
	if o.Progress != nil {
		d, _ := img.Digest()
		sz, _ := img.Size()
		tag := r.Tag
		if tag == "" {
			tag = r.Digest
		}
		fmt.Fprintf(o.Progress, "%s: digest: %s size: %d\n", tag, d, sz)
	}
	return nil
}
