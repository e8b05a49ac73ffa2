//go:build linux

package initproc

import (
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestParseMountOptions(t *testing.T) {
	tests := []struct {
		name    string
		options []string
		want    mountOptions
	}{
		{name: "empty", options: nil, want: mountOptions{}},
		{
			name:    "proc defaults",
			options: []string{"nosuid", "noexec", "nodev"},
			want:    mountOptions{flags: unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV},
		},
		{
			name:    "tmpfs with data",
			options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"},
			want:    mountOptions{flags: unix.MS_NOSUID | unix.MS_STRICTATIME, data: "mode=755,size=65536k"},
		},
		{
			name:    "devpts",
			options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"},
			want:    mountOptions{flags: unix.MS_NOSUID | unix.MS_NOEXEC, data: "newinstance,ptmxmode=0666,mode=0620,gid=5"},
		},
		{
			name:    "rbind ro with propagation",
			options: []string{"rbind", "ro", "rprivate", "shared"},
			want: mountOptions{
				flags:       unix.MS_BIND | unix.MS_REC | unix.MS_RDONLY,
				propagation: []uintptr{unix.MS_PRIVATE | unix.MS_REC, unix.MS_SHARED},
			},
		},
		{name: "bind", options: []string{"bind"}, want: mountOptions{flags: unix.MS_BIND}},
		{
			name:    "last of ro and rw wins",
			options: []string{"ro", "rw"},
			want:    mountOptions{clear: unix.MS_RDONLY},
		},
		{
			name:    "rw then ro",
			options: []string{"rw", "ro"},
			want:    mountOptions{flags: unix.MS_RDONLY},
		},
		{
			name:    "explicit clears",
			options: []string{"suid", "dev", "exec", "async", "nomand"},
			want:    mountOptions{clear: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_SYNCHRONOUS | unix.MS_MANDLOCK},
		},
		{
			name:    "sync dirsync remount mand",
			options: []string{"sync", "dirsync", "remount", "mand"},
			want:    mountOptions{flags: unix.MS_SYNCHRONOUS | unix.MS_DIRSYNC | unix.MS_REMOUNT | unix.MS_MANDLOCK},
		},
		{
			name:    "one atime mode replaces another",
			options: []string{"noatime", "relatime"},
			want:    mountOptions{flags: unix.MS_RELATIME},
		},
		{
			name:    "norelatime after relatime",
			options: []string{"relatime", "norelatime"},
			want:    mountOptions{clear: unix.MS_RELATIME},
		},
		{
			name:    "diratime pair",
			options: []string{"nodiratime", "noatime"},
			want:    mountOptions{flags: unix.MS_NODIRATIME | unix.MS_NOATIME},
		},
		{
			name:    "recursive read-only",
			options: []string{"rbind", "rro", "rnosuid", "rnodev"},
			want: mountOptions{
				flags:   unix.MS_BIND | unix.MS_REC,
				attrSet: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV,
			},
		},
		{
			name:    "rro then rrw",
			options: []string{"rro", "rrw"},
			want:    mountOptions{attrClr: unix.MOUNT_ATTR_RDONLY},
		},
		{
			name:    "recursive atime sets the enum",
			options: []string{"rnoatime"},
			want:    mountOptions{attrSet: unix.MOUNT_ATTR_NOATIME, attrClr: unix.MOUNT_ATTR__ATIME},
		},
		{
			name:    "propagation kept in order",
			options: []string{"slave", "runbindable", "private", "rslave"},
			want: mountOptions{propagation: []uintptr{
				unix.MS_SLAVE, unix.MS_UNBINDABLE | unix.MS_REC, unix.MS_PRIVATE, unix.MS_SLAVE | unix.MS_REC,
			}},
		},
		{
			name:    "defaults and empty strings are no-ops",
			options: []string{"defaults", "", "rw"},
			want:    mountOptions{clear: unix.MS_RDONLY},
		},
		{name: "idmap", options: []string{"bind", "idmap"}, want: mountOptions{flags: unix.MS_BIND, idmap: true}},
		{name: "ridmap", options: []string{"rbind", "ridmap"}, want: mountOptions{flags: unix.MS_BIND | unix.MS_REC, idmap: true, idmapRecursive: true}},
		{name: "idmap after ridmap", options: []string{"ridmap", "idmap"}, want: mountOptions{idmap: true}},
		{name: "tmpcopyup", options: []string{"tmpcopyup"}, want: mountOptions{tmpcopyup: true}},
		{
			name:    "unknown options are data",
			options: []string{"context=\"system_u:object_r:container_file_t:s0\"", "uid=0"},
			want:    mountOptions{data: "context=\"system_u:object_r:container_file_t:s0\",uid=0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseMountOptions(tt.options)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseMountOptions(%q)\n got  %+v\n want %+v", tt.options, got, tt.want)
			}
		})
	}
}

func TestIDMapOf(t *testing.T) {
	m1 := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
	tests := []struct {
		name  string
		mount specs.Mount
		want  IDMap
		ok    bool
	}{
		{"plain bind", specs.Mount{Options: []string{"bind"}}, IDMap{}, false},
		{"idmap", specs.Mount{Options: []string{"bind", "idmap"}}, IDMap{}, true},
		{"idmap on rbind", specs.Mount{Options: []string{"rbind", "idmap"}}, IDMap{Tree: true}, true},
		{"ridmap", specs.Mount{Options: []string{"rbind", "ridmap"}}, IDMap{Tree: true, Recursive: true}, true},
		{"ridmap on bind", specs.Mount{Options: []string{"ridmap", "bind"}}, IDMap{Recursive: true}, true},
		{"mappings alone", specs.Mount{Options: []string{"bind"}, UIDMappings: m1, GIDMappings: m1}, IDMap{}, true},
		{"uid mappings alone", specs.Mount{Type: "bind", UIDMappings: m1}, IDMap{}, true},
	}
	for _, tt := range tests {
		got, ok := IDMapOf(tt.mount)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: IDMapOf = %+v, %v; want %+v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
	for _, m := range []specs.Mount{{Type: "bind"}, {Options: []string{"rbind"}}, {Type: "none", Options: []string{"ro", "bind"}}} {
		if !IsBind(m) {
			t.Errorf("IsBind(%+v) = false", m)
		}
	}
	if IsBind(specs.Mount{Type: "tmpfs", Options: []string{"ro"}}) {
		t.Error("IsBind(tmpfs) = true")
	}
}

func TestFlagNames(t *testing.T) {
	tests := []struct {
		flags uintptr
		want  string
	}{
		{0, "0"},
		{unix.MS_NOSUID | unix.MS_NODEV, "MS_NOSUID|MS_NODEV"},
		{unix.MS_BIND | unix.MS_REC | unix.MS_RDONLY, "MS_RDONLY|MS_BIND|MS_REC"},
		{unix.MS_SLAVE | unix.MS_REC, "MS_REC|MS_SLAVE"},
		{1 << 30, "0x40000000"},
	}
	for _, tt := range tests {
		if got := flagNames(tt.flags); got != tt.want {
			t.Errorf("flagNames(%#x) = %q, want %q", tt.flags, got, tt.want)
		}
	}
}

func TestStatfsFlags(t *testing.T) {
	// ST_RELATIME shares its value with MS_BIND: a naive cast would turn a
	// read-only remount into a bind.
	got := statfsFlags(unix.ST_RDONLY | unix.ST_NOSUID | unix.ST_RELATIME | stNoSymfollow)
	want := uintptr(unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_RELATIME | unix.MS_NOSYMFOLLOW)
	if got != want {
		t.Errorf("statfsFlags = %s, want %s", flagNames(got), flagNames(want))
	}
}

func TestBasePropagation(t *testing.T) {
	tests := map[string]uintptr{
		"":           unix.MS_SLAVE | unix.MS_REC,
		"slave":      unix.MS_SLAVE | unix.MS_REC,
		"private":    unix.MS_PRIVATE | unix.MS_REC,
		"rshared":    unix.MS_SHARED | unix.MS_REC,
		"unbindable": unix.MS_PRIVATE | unix.MS_REC,
	}
	for p, want := range tests {
		got, err := basePropagation(p)
		if err != nil || got != want {
			t.Errorf("basePropagation(%q) = %s, %v; want %s", p, flagNames(got), err, flagNames(want))
		}
	}
	if _, err := basePropagation("sideways"); err == nil {
		t.Error("basePropagation(\"sideways\") succeeded, want an error")
	}
}

// FuzzParseMountOptions feeds comma-separated option lists (config.json is
// untrusted input) and checks the invariants every result must hold.
func FuzzParseMountOptions(f *testing.F) {
	for _, s := range []string{
		"", "ro", "rbind,ro,rprivate", "nosuid,noexec,nodev,mode=755,size=1m",
		"ro,rw,ro", "noatime,strictatime,relatime", "rro,rrw,rnoatime", "idmap,tmpcopyup",
		",,defaults,", "newinstance,ptmxmode=0666",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		options := strings.Split(s, ",")
		o := parseMountOptions(options)
		if o.flags&o.clear != 0 {
			t.Errorf("%q: flags %s and clear %s overlap", s, flagNames(o.flags), flagNames(o.clear))
		}
		if o.attrSet&o.attrClr&^unix.MOUNT_ATTR__ATIME != 0 {
			t.Errorf("%q: attr_set %#x and attr_clr %#x overlap", s, o.attrSet, o.attrClr)
		}
		if o.attrSet&unix.MOUNT_ATTR__ATIME != 0 && o.attrClr&unix.MOUNT_ATTR__ATIME != unix.MOUNT_ATTR__ATIME {
			t.Errorf("%q: atime in attr_set %#x without MOUNT_ATTR__ATIME in attr_clr %#x", s, o.attrSet, o.attrClr)
		}
		if n := o.flags & atimeFlags; n&(n-1) != 0 {
			t.Errorf("%q: more than one atime mode set: %s", s, flagNames(o.flags))
		}
		// Every data item is an input option nobody else claimed.
		var nonEmpty int
		for _, opt := range options {
			if opt != "" {
				nonEmpty++
			}
		}
		var data []string
		if o.data != "" {
			data = strings.Split(o.data, ",")
		}
		if len(data) > nonEmpty {
			t.Errorf("%q: data %q has more items than the input", s, o.data)
		}
		for _, d := range data {
			_, flag := mountFlagOptions[d]
			_, prop := propagationOptions[d]
			_, rec := recursiveOptions[d]
			if flag || prop || rec || d == "" || d == "idmap" || d == "ridmap" || d == "tmpcopyup" {
				t.Errorf("%q: known option %q ended up in data %q", s, d, o.data)
			}
		}
		if !reflect.DeepEqual(o, parseMountOptions(options)) {
			t.Errorf("%q: parsing is not deterministic", s)
		}
	})
}

func TestMountAttrs(t *testing.T) {
	for _, tt := range []struct {
		opts     []string
		set, clr uint64
		ok       bool
	}{
		{[]string{"ro", "nosuid", "nodev", "noexec", "relatime"},
			unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC | unix.MOUNT_ATTR_RELATIME,
			unix.MOUNT_ATTR__ATIME, true},
		{[]string{"rw", "nosuid"}, unix.MOUNT_ATTR_NOSUID, unix.MOUNT_ATTR_RDONLY, true},
		{[]string{"noatime"}, unix.MOUNT_ATTR_NOATIME, unix.MOUNT_ATTR__ATIME, true},
		{[]string{"ro", "rprivate"}, 0, 0, false}, // propagation
		{[]string{"rro"}, 0, 0, false},            // recursive attributes of their own
		{[]string{"ro", "sync"}, 0, 0, false},     // a superblock flag
	} {
		set, clr, ok := mountAttrs(parseMountOptions(tt.opts))
		if ok != tt.ok || ok && (set != tt.set || clr != tt.clr) {
			t.Errorf("mountAttrs(%v) = %#x, %#x, %v; want %#x, %#x, %v", tt.opts, set, clr, ok, tt.set, tt.clr, tt.ok)
		}
	}
}
