package caps

import (
	"errors"
	"slices"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		want    int
		wantErr string
	}{
		{"CAP_CHOWN", 0, ""},
		{"CAP_KILL", 5, ""},
		{"CAP_SYS_ADMIN", 21, ""},
		{"CAP_AUDIT_WRITE", 29, ""},
		{"CAP_SETFCAP", 31, ""},
		{"CAP_MAC_OVERRIDE", 32, ""},
		{"CAP_CHECKPOINT_RESTORE", 40, ""},
		{"CAP_FOO", 0, `unknown capability "CAP_FOO"`},
		{"chown", 0, `unknown capability "chown"`},
		{"CHOWN", 0, `unknown capability "CHOWN"`},
		{"cap_chown", 0, `unknown capability "cap_chown"`},
		{"", 0, `unknown capability ""`},
	}
	for _, tt := range tests {
		got, err := Parse(tt.name)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr || !errors.Is(err, ErrUnknown) {
				t.Errorf("Parse(%q) error = %v, want %q wrapping ErrUnknown", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %d, %v; want %d", tt.name, got, err, tt.want)
		}
	}
}

func TestNamesRoundTrip(t *testing.T) {
	all := All()
	if len(all) != 41 || Last != 40 {
		t.Fatalf("All() has %d names, Last = %d; want 41 and 40", len(all), Last)
	}
	for n, name := range all {
		got, err := Parse(name)
		if err != nil || got != n {
			t.Errorf("Parse(%q) = %d, %v; want %d", name, got, err, n)
		}
		if g := Names(1 << n); !slices.Equal(g, []string{name}) {
			t.Errorf("Names(1<<%d) = %v, want [%s]", n, g, name)
		}
	}
	m, err := Mask(all)
	if err != nil || m != 1<<41-1 {
		t.Errorf("Mask(All()) = %#x, %v; want %#x", m, err, uint64(1<<41-1))
	}
}

func TestNames(t *testing.T) {
	tests := []struct {
		mask uint64
		want []string
	}{
		{0, []string{}},
		{0x1, []string{"CAP_CHOWN"}},
		{0x21, []string{"CAP_CHOWN", "CAP_KILL"}},
		{1<<40 | 1<<41 | 1<<63, []string{"CAP_CHECKPOINT_RESTORE", "CAP_41", "CAP_63"}},
	}
	for _, tt := range tests {
		if got := Names(tt.mask); !slices.Equal(got, tt.want) {
			t.Errorf("Names(%#x) = %v, want %v", tt.mask, got, tt.want)
		}
	}
}

func TestMask(t *testing.T) {
	m, err := Mask([]string{"CAP_KILL", "CAP_CHOWN", "CAP_KILL"})
	if err != nil || m != 0x21 {
		t.Errorf("Mask = %#x, %v; want 0x21", m, err)
	}
	if _, err := Mask([]string{"CAP_CHOWN", "CAP_FOO"}); !errors.Is(err, ErrUnknown) {
		t.Errorf("Mask with CAP_FOO: error = %v, want ErrUnknown", err)
	}
	if m, err := Mask(nil); err != nil || m != 0 {
		t.Errorf("Mask(nil) = %#x, %v; want 0", m, err)
	}
}

func TestDefaultNames(t *testing.T) {
	d := DefaultNames()
	if len(d) != 14 {
		t.Fatalf("DefaultNames() has %d names, want 14", len(d))
	}
	m, err := Mask(d)
	if err != nil {
		t.Fatal(err)
	}
	// The default set as Docker and containerd write it in hex.
	if m != 0xa80425fb {
		t.Errorf("Mask(DefaultNames()) = %#x, want 0xa80425fb", m)
	}
	d[0] = "changed"
	if DefaultNames()[0] != "CAP_CHOWN" {
		t.Error("DefaultNames returned shared storage")
	}
}

func TestUnavailable(t *testing.T) {
	list := []string{"CAP_CHOWN", "CAP_BPF", "CAP_CHECKPOINT_RESTORE", "CAP_FOO", "CAP_PERFMON"}
	if got := Unavailable(list, 40); len(got) != 0 {
		t.Errorf("Unavailable(last=40) = %v, want none", got)
	}
	want := []string{"CAP_BPF", "CAP_CHECKPOINT_RESTORE"}
	if got := Unavailable(list, 38); !slices.Equal(got, want) {
		t.Errorf("Unavailable(last=38) = %v, want %v", got, want)
	}
}
