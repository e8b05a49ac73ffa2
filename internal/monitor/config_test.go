package monitor

import (
	"reflect"
	"strings"
	"testing"
)

func valid() Config {
	return Config{
		Root: "/var/lib/nook", ID: "abc", Init: 1234, Stdout: 5, Stderr: 6, Console: -1,
		Log: "/var/lib/nook/containers/abc/abc-json.log", LogMaxSize: 1024, LogMaxFile: 2,
		Resume: []string{"/usr/bin/nook", "--root", "/var/lib/nook", "container-monitor", "abc"},
	}
}

// TestRoundTrip: what the engine writes with Args, Parse reads back.
func TestRoundTrip(t *testing.T) {
	tty := valid()
	tty.Stdout, tty.Stderr, tty.Console, tty.Attached, tty.Stdin, tty.Winch = -1, -1, 7, true, true, true
	for _, c := range []Config{valid(), tty} {
		args, err := c.Args("/usr/bin/nook-monitor")
		if err != nil {
			t.Fatal(err)
		}
		if args[0] != "/usr/bin/nook-monitor" || args[1] != "--root" || args[2] != c.Root || args[3] != c.ID {
			t.Errorf("argv %q", args)
		}
		got, err := Parse(args[1:])
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(*got, c) {
			t.Errorf("round trip:\n got %+v\nwant %+v", *got, c)
		}
	}
}

// TestParseDefaults: fds left out of the JSON are "none", not fd 0.
func TestParseDefaults(t *testing.T) {
	c, err := Parse([]string{"--root", "/r", "id", `{"init":9,"console":4,"log":"/l","resume":["/nook"]}`})
	if err != nil {
		t.Fatal(err)
	}
	if c.Stdout != -1 || c.Stderr != -1 || c.Console != 4 || c.Root != "/r" || c.ID != "id" {
		t.Errorf("%+v", c)
	}
}

func TestParseErrors(t *testing.T) {
	good := valid()
	args, _ := good.Args("x")
	json := args[4]
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "usage"},
		{[]string{"--root", "/r", "id"}, "usage"},
		{[]string{"-root", "/r", "id", json}, "usage"},
		{[]string{"--root", "/r", "id", json, "extra"}, "usage"},
		{[]string{"--root", "/r", "id", "{"}, "reading the monitor's config"},
		{[]string{"--root", "", "id", json}, "no root"},
		{[]string{"--root", "/r", "id", `{"init":1,"stdout":5,"stderr":6,"log":"/l","resume":["/n"]}`}, "invalid init pid"},
		{[]string{"--root", "/r", "id", `{"init":9,"stdout":5,"stderr":6,"resume":["/n"]}`}, "no log"},
		{[]string{"--root", "/r", "id", `{"init":9,"stdout":5,"stderr":6,"log":"/l"}`}, "no command to resume"},
		{[]string{"--root", "/r", "id", `{"init":9,"stdout":5,"log":"/l","resume":["/n"]}`}, "invalid output fds"},
		{[]string{"--root", "/r", "id", `{"init":9,"stdout":1,"stderr":2,"log":"/l","resume":["/n"]}`}, "invalid output fds"},
		{[]string{"--root", "/r", "id", `{"init":9,"stdout":5,"stderr":6,"console":7,"log":"/l","resume":["/n"]}`}, "both a console and pipes"},
		{[]string{"--root", "/r", "id", `{"init":9,"console":0,"log":"/l","resume":["/n"]}`}, "invalid console fd"},
		{[]string{"--root", "/r", "id", `{"init":9,"console":5,"winch":true,"log":"/l","resume":["/n"]}`}, "terminal relay"},
		{[]string{"--root", "/r", "id", `{"init":9,"stdout":5,"stderr":6,"stdin":true,"attached":true,"log":"/l","resume":["/n"]}`}, "terminal relay"},
	} {
		_, err := Parse(tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q): %v, want %q", tc.args, err, tc.want)
		}
	}
}
