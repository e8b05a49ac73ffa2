package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/nook-containers/nook/test/probe/report"
)

func mounts() ([]report.Mount, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("reading mounts: %w", err)
	}
	return parseMountinfo(string(b))
}

// parseMountinfo parses every line of a mountinfo file. Bad lines are
// skipped and reported together; good ones are still returned.
func parseMountinfo(s string) ([]report.Mount, error) {
	ms := []report.Mount{}
	var errs []error
	for line := range strings.Lines(s) {
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			continue
		}
		m, err := parseMountinfoLine(line)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ms = append(ms, m)
	}
	return ms, errors.Join(errs...)
}

// parseMountinfoLine parses one line of /proc/<pid>/mountinfo
// (proc_pid_mountinfo(5)):
//
//	36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//	(1)(2)(3)   (4)   (5)      (6)      (7)   (8) (9)   (10)         (11)
//
// Field 7 is zero or more optional fields ended by the "-" of field 8. The
// kernel escapes space, tab, newline and backslash in paths as \ooo octal.
func parseMountinfoLine(line string) (report.Mount, error) {
	bad := func(why string) (report.Mount, error) {
		return report.Mount{}, fmt.Errorf("malformed mountinfo line %q: %s", line, why)
	}
	f := strings.Split(line, " ")
	if len(f) < 7 {
		return bad("too few fields")
	}
	sep := -1
	for i := 6; i < len(f); i++ {
		if f[i] == "-" {
			sep = i
			break
		}
	}
	// After "-": fstype, source, super options. Source and super options
	// can be empty strings, never missing. Anything after them is ignored.
	if sep < 0 || len(f) < sep+4 {
		return bad(`no "-" followed by three fields`)
	}
	id, err1 := strconv.Atoi(f[0])
	parent, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil {
		return bad("mount ids are not numbers")
	}
	if !strings.Contains(f[2], ":") {
		return bad("no major:minor")
	}
	return report.Mount{
		ID:           id,
		ParentID:     parent,
		MajorMinor:   f[2],
		Root:         unescape(f[3]),
		MountPoint:   unescape(f[4]),
		Options:      splitOptions(f[5]),
		Propagation:  append([]string{}, f[6:sep]...),
		FSType:       unescape(f[sep+1]),
		Source:       unescape(f[sep+2]),
		SuperOptions: splitOptions(f[sep+3]),
	}, nil
}

func splitOptions(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

// unescape decodes the kernel's \ooo octal escapes (\000 to \377). A
// backslash not followed by such an escape is kept as is.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && '0' <= s[i+1] && s[i+1] <= '3' && isOctal(s[i+2]) && isOctal(s[i+3]) {
			n := (s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0')
			b.WriteByte(n)
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return '0' <= c && c <= '7' }
