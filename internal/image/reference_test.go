package image

import (
	"errors"
	"strings"
	"testing"
)

func TestParseReference(t *testing.T) {
	const dg = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		in       string
		want     string // String(); "" = error expected
		familiar string
		errHas   string
	}{
		{in: "alpine", want: "docker.io/library/alpine:latest", familiar: "alpine:latest"},
		{in: "alpine:3.20", want: "docker.io/library/alpine:3.20", familiar: "alpine:3.20"},
		{in: "library/alpine", want: "docker.io/library/alpine:latest", familiar: "alpine:latest"},
		{in: "docker.io/alpine", want: "docker.io/library/alpine:latest", familiar: "alpine:latest"},
		{in: "index.docker.io/library/alpine", want: "docker.io/library/alpine:latest", familiar: "alpine:latest"},
		{in: "user/x", want: "docker.io/user/x:latest", familiar: "user/x:latest"},
		{in: "user/x/y:t", want: "docker.io/user/x/y:t", familiar: "user/x/y:t"},
		{in: "localhost/x", want: "localhost/x:latest", familiar: "localhost/x:latest"},
		{in: "localhost:5000/x", want: "localhost:5000/x:latest", familiar: "localhost:5000/x:latest"},
		{in: "127.0.0.1:5000/a/b:t", want: "127.0.0.1:5000/a/b:t", familiar: "127.0.0.1:5000/a/b:t"},
		{in: "[::1]:5000/a:t", want: "[::1]:5000/a:t", familiar: "[::1]:5000/a:t"},
		{in: "ghcr.io/o/r:v1.2-rc_3", want: "ghcr.io/o/r:v1.2-rc_3", familiar: "ghcr.io/o/r:v1.2-rc_3"},
		{in: "Registry.Example.com/x", want: "Registry.Example.com/x:latest", familiar: "Registry.Example.com/x:latest"},
		{in: "nook.local/busybox:latest", want: "nook.local/busybox:latest", familiar: "nook.local/busybox:latest"},
		{in: "a.b__c-d--e", want: "docker.io/library/a.b__c-d--e:latest", familiar: "a.b__c-d--e:latest"},
		{in: "x@" + dg, want: "docker.io/library/x@" + dg, familiar: "x@" + dg},
		{in: "x:t@" + dg, want: "docker.io/library/x:t@" + dg, familiar: "x:t@" + dg},
		{in: "h:1/x@" + dg, want: "h:1/x@" + dg, familiar: "h:1/x@" + dg},
		{in: "localhost:5000", want: "docker.io/library/localhost:5000", familiar: "localhost:5000"},

		{in: "", errHas: "empty"},
		{in: "Alpine", errHas: "lowercase"},
		{in: "user/Repo", errHas: "lowercase"},
		{in: "alpine:", errHas: "invalid tag"},
		{in: "alpine:-x", errHas: "invalid tag"},
		{in: "alpine:" + strings.Repeat("a", 129), errHas: "invalid tag"},
		{in: ":tag", errHas: "missing repository"},
		{in: "x@sha256:abc", errHas: "invalid digest"},
		{in: "x@md5:0123456789abcdef0123456789abcdef", errHas: "unsupported digest"},
		{in: "a//b", errHas: "invalid repository"},
		{in: "a/b/", errHas: "invalid repository"},
		{in: "_a", errHas: "invalid repository"},
		{in: "a-", errHas: "invalid repository"},
		{in: "a b", errHas: "invalid"},
		{in: "host:port/x", errHas: "invalid"},
		{in: "-host.com/x", errHas: "invalid registry"},
		{in: "[zz]:1/x", errHas: "invalid registry"},
		{in: strings.Repeat("a", 256), errHas: "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := ParseReference(tt.in)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("ParseReference(%q) = %v, want error", tt.in, r)
				}
				if !errors.Is(err, ErrInvalidReference) || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("ParseReference(%q) error = %v, want invalid reference containing %q", tt.in, err, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseReference(%q): %v", tt.in, err)
			}
			if got := r.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			if got := r.Familiar(); got != tt.familiar {
				t.Errorf("Familiar() = %q, want %q", got, tt.familiar)
			}
		})
	}
}

func FuzzParseReference(f *testing.F) {
	for _, s := range []string{"alpine", "a/b:c", "localhost:5000/x", "[::1]:5000/a:t", "x@sha256:" +
		strings.Repeat("0", 64), "docker.io/library/alpine:latest", "A", "a//b", "h:1/x:y@sha256:" +
		strings.Repeat("f", 64)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseReference(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidReference) {
				t.Fatalf("ParseReference(%q) error %v does not wrap ErrInvalidReference", s, err)
			}
			return
		}
		// Normalized forms parse back to the same reference.
		for _, form := range []string{r.String(), r.Familiar()} {
			r2, err := ParseReference(form)
			if err != nil {
				t.Fatalf("ParseReference(%q) ok as %+v, but its form %q does not parse: %v", s, r, form, err)
			}
			if r2 != r {
				t.Fatalf("ParseReference(%q) = %+v, reparsing %q = %+v", s, r, form, r2)
			}
		}
		if r.Tag == "" && r.Digest == "" {
			t.Fatalf("ParseReference(%q) = %+v: neither tag nor digest", s, r)
		}
	})
}
