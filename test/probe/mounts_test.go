package main

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nook-containers/nook/test/probe/report"
)

func TestParseMountinfoLine(t *testing.T) {
	tests := []struct {
		line    string
		want    report.Mount
		wantErr bool
	}{
		{
			line: "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue",
			want: report.Mount{ID: 36, ParentID: 35, MajorMinor: "98:0", Root: "/mnt1", MountPoint: "/mnt2",
				Options: []string{"rw", "noatime"}, Propagation: []string{"master:1"},
				FSType: "ext3", Source: "/dev/root", SuperOptions: []string{"rw", "errors=continue"}},
		},
		{
			line: "22 27 0:21 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw",
			want: report.Mount{ID: 22, ParentID: 27, MajorMinor: "0:21", Root: "/", MountPoint: "/proc",
				Options: []string{"rw", "nosuid", "nodev", "noexec", "relatime"}, Propagation: []string{},
				FSType: "proc", Source: "proc", SuperOptions: []string{"rw"}},
		},
		{
			// Several optional fields.
			line: "100 1 0:50 / /run rw shared:5 master:3 propagate_from:2 - tmpfs tmpfs rw,size=64k",
			want: report.Mount{ID: 100, ParentID: 1, MajorMinor: "0:50", Root: "/", MountPoint: "/run",
				Options: []string{"rw"}, Propagation: []string{"shared:5", "master:3", "propagate_from:2"},
				FSType: "tmpfs", Source: "tmpfs", SuperOptions: []string{"rw", "size=64k"}},
		},
		{
			// Escaped space, tab, newline and backslash; bind mount of a subdirectory.
			line: `40 22 8:1 /data/my\040dir /mnt/a\011b\012c\134d ro - ext4 /dev/sda\0401 rw`,
			want: report.Mount{ID: 40, ParentID: 22, MajorMinor: "8:1", Root: "/data/my dir", MountPoint: "/mnt/a\tb\nc\\d",
				Options: []string{"ro"}, Propagation: []string{},
				FSType: "ext4", Source: "/dev/sda 1", SuperOptions: []string{"rw"}},
		},
		{
			// Empty source.
			line: "50 1 0:60 / /x rw - tmpfs  rw",
			want: report.Mount{ID: 50, ParentID: 1, MajorMinor: "0:60", Root: "/", MountPoint: "/x",
				Options: []string{"rw"}, Propagation: []string{},
				FSType: "tmpfs", Source: "", SuperOptions: []string{"rw"}},
		},
		{line: "", wantErr: true},
		{line: "36 35 98:0 /mnt1 /mnt2 rw", wantErr: true},
		{line: "36 35 98:0 /mnt1 /mnt2 rw master:1 ext3 /dev/root rw", wantErr: true},
		{line: "36 35 98:0 /mnt1 /mnt2 rw - ext3 /dev/root", wantErr: true},
		{line: "x 35 98:0 /mnt1 /mnt2 rw - ext3 /dev/root rw", wantErr: true},
		{line: "36 35 980 /mnt1 /mnt2 rw - ext3 /dev/root rw", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseMountinfoLine(tt.line)
		if tt.wantErr {
			if err == nil {
				t.Errorf("parseMountinfoLine(%q) = %+v, want an error", tt.line, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseMountinfoLine(%q): %v", tt.line, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseMountinfoLine(%q)\n got %+v\nwant %+v", tt.line, got, tt.want)
		}
	}
}

func TestParseMountinfo(t *testing.T) {
	in := "22 27 0:21 / /proc rw - proc proc rw\n" +
		"garbage\n" +
		"\n" +
		"23 27 0:22 / /sys ro - sysfs sysfs rw\n"
	ms, err := parseMountinfo(in)
	if err == nil || !strings.Contains(err.Error(), `"garbage"`) {
		t.Errorf("error = %v, want one naming the bad line", err)
	}
	if len(ms) != 2 || ms[0].MountPoint != "/proc" || ms[1].MountPoint != "/sys" || !ms[1].HasOption("ro") {
		t.Errorf("mounts = %+v, want /proc and read-only /sys", ms)
	}
	r := report.Report{Mounts: ms}
	if m, ok := r.Mount("/sys"); !ok || m.FSType != "sysfs" {
		t.Errorf("Report.Mount(/sys) = %+v, %v", m, ok)
	}
}

func TestUnescape(t *testing.T) {
	tests := map[string]string{
		`plain`:       "plain",
		`a\040b`:      "a b",
		`\134`:        `\`,
		`trailing\04`: `trailing\04`,
		`\9999`:       `\9999`,
		`\477`:        `\477`,
		`\`:           `\`,
	}
	for in, want := range tests {
		if got := unescape(in); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseMountinfoLine(f *testing.F) {
	f.Add("36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue")
	f.Add(`40 22 8:1 /data/my\040dir /mnt/a\011b ro - ext4 /dev/sda\0401 rw`)
	f.Add("50 1 0:60 / /x rw - tmpfs  rw")
	f.Add("1 2 3:4 / / rw - - - -")
	f.Fuzz(func(t *testing.T, line string) {
		m, err := parseMountinfoLine(line)
		if err != nil {
			return
		}
		// Whatever parses has every field set, and a line without escapes
		// reads back the same.
		if m.Options == nil || m.SuperOptions == nil || m.Propagation == nil || !strings.Contains(m.MajorMinor, ":") {
			t.Errorf("parseMountinfoLine(%q) = %+v: missing fields", line, m)
		}
		if !strings.Contains(line, `\`) && utf8.ValidString(line) {
			if !strings.Contains(line, " "+m.MountPoint+" ") || !strings.Contains(line, " - "+m.FSType+" ") {
				t.Errorf("parseMountinfoLine(%q) = %+v: fields not from the line", line, m)
			}
		}
	})
}
