package archive

import (
	"errors"
	"testing"
)

func TestCleanName(t *testing.T) {
	tests := []struct {
		in, want string
		err      error
	}{
		{"a", "a", nil},
		{"./a/b/", "a/b", nil},
		{"/etc/passwd", "etc/passwd", nil},
		{"//a//b", "a/b", nil},
		{"./", ".", nil},
		{".", ".", nil},
		{"/", ".", nil},
		{"a/..", ".", nil},
		{"a/b/../../c", "c", nil},
		{"a/./b/.", "a/b", nil},
		{"..", "", ErrEscape},
		{"../x", "", ErrEscape},
		{"/../x", "", ErrEscape},
		{"a/../../x", "", ErrEscape},
		{"a/../b/../..", "", ErrEscape},
		{"..foo", "..foo", nil},
		{"", "", errors.New("empty")},
	}
	for _, tt := range tests {
		got, err := cleanName(tt.in)
		if (err != nil) != (tt.err != nil) || (tt.err == ErrEscape && !errors.Is(err, ErrEscape)) {
			t.Errorf("cleanName(%q) error %v, want %v", tt.in, err, tt.err)
			continue
		}
		if got != tt.want {
			t.Errorf("cleanName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSplit(t *testing.T) {
	tests := []struct{ in, dir, base string }{
		{".", ".", "."},
		{"a", ".", "a"},
		{"a/b", "a", "b"},
		{"a/b/c", "a/b", "c"},
	}
	for _, tt := range tests {
		if d, b := split(tt.in); d != tt.dir || b != tt.base {
			t.Errorf("split(%q) = %q, %q; want %q, %q", tt.in, d, b, tt.dir, tt.base)
		}
	}
}
