package engine

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// resolvedUser is -u resolved against the image: ids, groups, home.
type resolvedUser struct {
	specs.User
	home string
}

// resolveUser reads -u USER[:GROUP] (names or numbers) the way Docker does:
// names are looked up in the image's /etc/passwd and /etc/group, read
// inside the rootfs (a symlinked /etc/passwd cannot point at the host's),
// and the user's supplementary groups are added.
func resolveUser(rootfs, spec string) (resolvedUser, error) {
	u := resolvedUser{home: "/"}
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	passwd := readColonFile(rootfs, "/etc/passwd", 7)
	groups := readColonFile(rootfs, "/etc/group", 4)

	switch {
	case userPart == "":
		u.home = "/root"
		for _, p := range passwd {
			if p[2] == "0" {
				u.home = p[5]
				break
			}
		}
	case isNumber(userPart):
		uid, _ := strconv.ParseUint(userPart, 10, 32)
		u.UID = uint32(uid)
		for _, p := range passwd {
			if p[2] == userPart {
				gid, _ := strconv.ParseUint(p[3], 10, 32)
				u.GID, u.home, userPart = uint32(gid), p[5], p[0]
				break
			}
		}
	default:
		found := false
		for _, p := range passwd {
			if p[0] == userPart {
				uid, err1 := strconv.ParseUint(p[2], 10, 32)
				gid, err2 := strconv.ParseUint(p[3], 10, 32)
				if err1 != nil || err2 != nil {
					return u, fmt.Errorf("unable to find user %s: bad /etc/passwd entry", userPart)
				}
				u.UID, u.GID, u.home, found = uint32(uid), uint32(gid), p[5], true
				break
			}
		}
		if !found {
			return u, fmt.Errorf("unable to find user %s: no matching entries in passwd file", userPart)
		}
	}
	if hasGroup {
		gid, err := lookupGroup(groups, groupPart)
		if err != nil {
			return u, err
		}
		u.GID = gid
	} else if userPart != "" {
		// Supplementary groups: those listing the user as a member.
		for _, g := range groups {
			for _, m := range strings.Split(g[3], ",") {
				if m == userPart {
					if gid, err := strconv.ParseUint(g[2], 10, 32); err == nil && uint32(gid) != u.GID {
						u.AdditionalGids = append(u.AdditionalGids, uint32(gid))
					}
				}
			}
		}
	}
	if u.home == "" {
		u.home = "/"
	}
	return u, nil
}

func lookupGroup(groups [][]string, g string) (uint32, error) {
	if isNumber(g) {
		n, err := strconv.ParseUint(g, 10, 32)
		return uint32(n), err
	}
	for _, e := range groups {
		if e[0] == g {
			n, err := strconv.ParseUint(e[2], 10, 32)
			if err != nil {
				break
			}
			return uint32(n), nil
		}
	}
	return 0, fmt.Errorf("unable to find group %s: no matching entries in group file", g)
}

func isNumber(s string) bool {
	_, err := strconv.ParseUint(s, 10, 32)
	return err == nil
}

// readColonFile reads a passwd-style file inside rootfs, returning the
// lines with exactly n fields. A missing file is no entries.
func readColonFile(rootfs, path string, n int) [][]string {
	h, err := pathrs.OpenInRoot(rootfs, path)
	if err != nil {
		return nil
	}
	defer h.Close()
	f, err := pathrs.Reopen(h, unix.O_RDONLY|unix.O_CLOEXEC)
	if err != nil {
		return nil
	}
	defer f.Close()
	return parseColonLines(io.LimitReader(f, 4<<20), n)
}

func parseColonLines(r io.Reader, n int) [][]string {
	var out [][]string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if f := strings.Split(line, ":"); len(f) == n {
			out = append(out, f)
		}
	}
	return out
}
