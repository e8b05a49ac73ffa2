package main

import (
	"slices"
	"testing"
)

func TestParseNSLink(t *testing.T) {
	tests := []struct {
		link    string
		typ     string
		ino     uint64
		wantErr bool
	}{
		{link: "net:[4026531840]", typ: "net", ino: 4026531840},
		{link: "pid:[4026531836]", typ: "pid", ino: 4026531836},
		{link: "time:[1]", typ: "time", ino: 1},
		{link: "net:[]", wantErr: true},
		{link: "net:[12", wantErr: true},
		{link: ":[12]", wantErr: true},
		{link: "net:12", wantErr: true},
		{link: "net:[-1]", wantErr: true},
		{link: "/dev/null", wantErr: true},
	}
	for _, tt := range tests {
		typ, ino, err := parseNSLink(tt.link)
		if tt.wantErr {
			if err == nil {
				t.Errorf("parseNSLink(%q) = %q, %d; want an error", tt.link, typ, ino)
			}
			continue
		}
		if err != nil || typ != tt.typ || ino != tt.ino {
			t.Errorf("parseNSLink(%q) = %q, %d, %v; want %q, %d", tt.link, typ, ino, err, tt.typ, tt.ino)
		}
	}
}

func TestParseStatus(t *testing.T) {
	st := parseStatus("Name:\tprobe\nCapEff:\t00000000a80425fb\nNoNewPrivs:\t1\nSeccomp:\t2\nGroups:\t\n")
	if st["Name"] != "probe" || st["CapEff"] != "00000000a80425fb" || st["NoNewPrivs"] != "1" || st["Seccomp"] != "2" || st["Groups"] != "" {
		t.Errorf("parseStatus = %v", st)
	}
}

func TestParseCapSet(t *testing.T) {
	tests := []struct {
		hex     string
		want    []string
		wantErr bool
	}{
		{hex: "0000000000000000", want: []string{}},
		{hex: "0000000000000021", want: []string{"CAP_CHOWN", "CAP_KILL"}},
		{hex: "00000000a80425fb", want: []string{
			"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
			"CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_CHROOT",
			"CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SETFCAP"}},
		{hex: "0000030000000000", want: []string{"CAP_CHECKPOINT_RESTORE", "CAP_41"}},
		{hex: "", wantErr: true},
		{hex: "zz", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseCapSet(tt.hex)
		if tt.wantErr {
			if err == nil {
				t.Errorf("parseCapSet(%q) = %+v, want an error", tt.hex, got)
			}
			continue
		}
		if err != nil || !slices.Equal(got.Names, tt.want) || got.Hex != tt.hex {
			t.Errorf("parseCapSet(%q) = %+v, %v; want names %v", tt.hex, got, err, tt.want)
		}
		if got.Mask() == 0 && len(tt.want) > 0 {
			t.Errorf("CapSet{%q}.Mask() = 0", tt.hex)
		}
		for _, n := range tt.want {
			if !got.Has(n) {
				t.Errorf("CapSet{%q}.Has(%s) = false", tt.hex, n)
			}
		}
	}
}
