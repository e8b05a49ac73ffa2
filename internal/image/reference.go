package image

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// Defaults applied while normalizing references, as Docker does.
const (
	defaultRegistry  = "docker.io"
	officialRepoPath = "library/"
	defaultTag       = "latest"
	maxNameLength    = 255
)

// ErrInvalidReference is wrapped by every ParseReference error.
var ErrInvalidReference = errors.New("invalid reference format")

// Reference is a normalized image reference: Registry/Repository[:Tag][@Digest].
type Reference struct {
	Registry   string // "docker.io", "127.0.0.1:5000", "[::1]:5000"
	Repository string // "library/alpine"
	Tag        string // "latest"; empty only when Digest is set and no tag was given
	Digest     string // "sha256:<64 hex>" or empty
}

var (
	// The grammar of github.com/distribution/reference (reference.go), restricted to sha256 digests.
	// Compiled on first use: every nook process (the monitor, the container's init) links this
	// package, and compiling them all at start-up cost each ~0.5 ms.
	pathComponentRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$`) })
	domainCompRe    = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$`)
	})
	portRe      = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]+$`) })
	ipv6Re      = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\[[a-fA-F0-9:]+\]$`) })
	tagRe       = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[\w][\w.-]{0,127}$`) })
	digestRe    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^sha256:[a-f0-9]{64}$`) })
	anyDigestRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$`) })
)

// ParseReference parses and normalizes s the way Docker does: "alpine" is
// docker.io/library/alpine:latest, "user/x" is docker.io/user/x:latest, "localhost:5000/x" names a
// registry because the first component has a port, a dot or is "localhost".
func ParseReference(s string) (Reference, error) {
	bad := func(why string) (Reference, error) {
		return Reference{}, fmt.Errorf("%w: %s: %q", ErrInvalidReference, why, s)
	}
	if s == "" {
		return bad("empty reference")
	}
	var r Reference
	rest := s
	if i := strings.IndexByte(rest, '@'); i >= 0 {
		d := rest[i+1:]
		rest = rest[:i]
		if !digestRe().MatchString(d) {
			if anyDigestRe().MatchString(d) && !strings.HasPrefix(d, "sha256:") {
				return bad("unsupported digest algorithm")
			}
			return bad("invalid digest")
		}
		r.Digest = d
	}
	if i := strings.LastIndexByte(rest, ':'); i >= 0 && !strings.ContainsRune(rest[i+1:], '/') {
		t := rest[i+1:]
		if !tagRe().MatchString(t) {
			return bad("invalid tag")
		}
		r.Tag = t
		rest = rest[:i]
	}
	if rest == "" {
		return bad("missing repository name")
	}
	if len(rest) > maxNameLength {
		return bad(fmt.Sprintf("repository name longer than %d characters", maxNameLength))
	}
	r.Registry, r.Repository = splitDomain(rest)
	if r.Registry != defaultRegistry || strings.Contains(rest, "/") {
		if err := checkDomain(r.Registry); err != nil {
			return bad(err.Error())
		}
	}
	if strings.ToLower(r.Repository) != r.Repository {
		return bad("repository name must be lowercase")
	}
	for _, c := range strings.Split(r.Repository, "/") {
		if !pathComponentRe().MatchString(c) {
			return bad("invalid repository name")
		}
	}
	if r.Tag == "" && r.Digest == "" {
		r.Tag = defaultTag
	}
	return r, nil
}

// splitDomain separates the registry from the repository path (distribution's splitDockerDomain).
func splitDomain(name string) (domain, path string) {
	i := strings.IndexByte(name, '/')
	if i < 0 || (!strings.ContainsAny(name[:i], ".:") && name[:i] != "localhost" &&
		strings.ToLower(name[:i]) == name[:i]) {
		domain, path = defaultRegistry, name
	} else {
		domain, path = name[:i], name[i+1:]
	}
	if domain == "index.docker.io" {
		domain = defaultRegistry
	}
	if domain == defaultRegistry && !strings.ContainsRune(path, '/') {
		path = officialRepoPath + path
	}
	return domain, path
}

func checkDomain(d string) error {
	host := d
	if strings.HasPrefix(d, "[") {
		end := strings.IndexByte(d, ']')
		if end < 0 || !ipv6Re().MatchString(d[:end+1]) {
			return errors.New("invalid registry address")
		}
		host = d[:end+1]
		port := d[end+1:]
		if port != "" && (port[0] != ':' || !portRe().MatchString(port[1:])) {
			return errors.New("invalid registry port")
		}
		return nil
	}
	if i := strings.IndexByte(d, ':'); i >= 0 {
		if !portRe().MatchString(d[i+1:]) {
			return errors.New("invalid registry port")
		}
		host = d[:i]
	}
	for _, c := range strings.Split(host, ".") {
		if !domainCompRe().MatchString(c) {
			return errors.New("invalid registry name")
		}
	}
	return nil
}

// Name is the repository's full name without tag or digest: "docker.io/library/alpine".
func (r Reference) Name() string { return r.Registry + "/" + r.Repository }

// String is the full normalized reference, "docker.io/library/alpine:latest" or "...@sha256:...".
func (r Reference) String() string {
	s := r.Name()
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest
	}
	return s
}

// Familiar is the short form Docker prints: "alpine:latest" for official Docker Hub images,
// "user/x:latest" for other Docker Hub images, the full reference elsewhere.
func (r Reference) Familiar() string {
	if r.Registry != defaultRegistry {
		return r.String()
	}
	// "docker.io/foo.bar/x" must keep its registry: "foo.bar/x" would
	// name the registry foo.bar.
	if first, _, _ := strings.Cut(r.Repository, "/"); strings.ContainsAny(first, ".:") || first == "localhost" {
		return r.String()
	}
	f := Reference{Repository: r.Repository, Tag: r.Tag, Digest: r.Digest}
	if rest, ok := strings.CutPrefix(r.Repository, officialRepoPath); ok && !strings.Contains(rest, "/") {
		f.Repository = rest
	}
	return strings.TrimPrefix(f.String(), "/")
}

// familiarName is the familiar form of a normalized reference string, or s itself if it doesn't parse.
func familiarName(s string) string {
	r, err := ParseReference(s)
	if err != nil {
		return s
	}
	return r.Familiar()
}
