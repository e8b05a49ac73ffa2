package image

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// remoteRef converts r for go-containerregistry and builds the options to talk to its registry:
// credentials from ~/.docker/config.json, and plain http plus no TLS verification for loopback
// registries (as Docker does), for InsecureRegistries hosts and when TLS verification is off.
func remoteRef(ctx context.Context, r Reference, tlsVerify *bool, insecure []string) (name.Reference, []remote.Option, error) {
	skip := (tlsVerify != nil && !*tlsVerify) || slices.Contains(insecure, r.Registry) || isLoopback(r.Registry)
	var nopts []name.Option
	if skip {
		nopts = append(nopts, name.Insecure)
	}
	s := r.Name() + ":" + r.Tag
	if r.Digest != "" {
		s = r.Name() + "@" + r.Digest
	}
	ref, err := name.ParseReference(s, nopts...)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %w", ErrInvalidReference, r, err)
	}
	tr := remote.DefaultTransport.(*http.Transport).Clone()
	if skip {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // asked for: insecure registry
	}
	return ref, []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(authn.DefaultKeychain),
		remote.WithTransport(tr),
		remote.WithUserAgent("nook"),
	}, nil
}

// isLoopback reports whether the registry host:port is localhost, 127.0.0.0/8 or ::1.
func isLoopback(registry string) bool {
	host := registry
	if h, _, err := net.SplitHostPort(registry); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// registryError turns registry errors into one clear line, wrapping ErrNotFound for unknown images.
func registryError(op string, r Reference, err error) error {
	var terr *transport.Error
	if errors.As(err, &terr) {
		for _, d := range terr.Errors {
			switch d.Code {
			case transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode:
				return fmt.Errorf("%s %s: %w: manifest unknown", op, r.Familiar(), ErrNotFound)
			case transport.UnauthorizedErrorCode, transport.DeniedErrorCode:
				return fmt.Errorf("%s %s: access denied: repository does not exist or may require 'docker login': %w",
					op, r.Familiar(), err)
			}
		}
		if terr.StatusCode == http.StatusNotFound {
			return fmt.Errorf("%s %s: %w: manifest unknown", op, r.Familiar(), ErrNotFound)
		}
	}
	return fmt.Errorf("%s %s: %w", op, r.Familiar(), err)
}

// wantPlatform parses a --platform value; "" is the host.
func wantPlatform(s string) (v1.Platform, error) {
	if s == "" {
		p := v1.Platform{OS: runtime.GOOS, Architecture: runtime.GOARCH}
		switch runtime.GOARCH {
		case "arm64":
			p.Variant = "v8"
		case "arm":
			p.Variant = "v7"
		}
		return p, nil
	}
	p, err := v1.ParsePlatform(s)
	if err != nil || p.OS == "" || p.Architecture == "" {
		return v1.Platform{}, fmt.Errorf("invalid platform %q: want os/arch[/variant], e.g. linux/arm64", s)
	}
	return *p, nil
}

// pickManifest chooses the manifest for want from a multi-platform index: the exact variant if
// listed, else the first entry of the right OS and architecture whose variant is unspecified or
// equivalent (arm64 is v8).
func pickManifest(im *v1.IndexManifest, want v1.Platform) (v1.Descriptor, error) {
	norm := func(arch, v string) string {
		if arch == "arm64" && v == "" {
			return "v8"
		}
		return v
	}
	var fallback *v1.Descriptor
	for i, m := range im.Manifests {
		p := m.Platform
		if p == nil || p.OS != want.OS || p.Architecture != want.Architecture || !m.MediaType.IsImage() {
			continue
		}
		if norm(p.Architecture, p.Variant) == norm(want.Architecture, want.Variant) {
			return m, nil
		}
		if fallback == nil && (p.Variant == "" || want.Variant == "") {
			fallback = &im.Manifests[i]
		}
	}
	if fallback != nil {
		return *fallback, nil
	}
	return v1.Descriptor{}, fmt.Errorf("no matching manifest for %s in the manifest list entries", want.String())
}
