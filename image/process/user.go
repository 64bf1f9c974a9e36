package process

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// passwdEntry is one line of /etc/passwd.
type passwdEntry struct {
	name     string
	uid, gid uint32
	home     string
}

// groupEntry is one line of /etc/group.
type groupEntry struct {
	name    string
	gid     uint32
	members []string
}

// resolveUser turns a user spec (uid, name, uid:gid, name:group, or ""
// for root) into the process's user, its additional groups (the groups
// of /etc/group that list it by name) and its home directory (its
// passwd entry's, else /). A name must be in the image's files; a
// number need not be.
func resolveUser(spec string, f Files) (specs.User, string, error) {
	users, groups := parsePasswd(f.Passwd), parseGroup(f.Group)
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	if userPart == "" {
		userPart = "0"
	}
	var u passwdEntry
	if id, ok := parseID(userPart); ok {
		u = passwdEntry{uid: id, home: "/"}
		for _, e := range users {
			if e.uid == id {
				u = e
				break
			}
		}
	} else {
		found := false
		for _, e := range users {
			if e.name == userPart {
				u, found = e, true
				break
			}
		}
		if !found {
			return specs.User{}, "", fmt.Errorf("user %q: not in the image's /etc/passwd", userPart)
		}
	}
	gid := u.gid
	if hasGroup {
		g, err := resolveGroup(groupPart, groups)
		if err != nil {
			return specs.User{}, "", err
		}
		gid = g
	}
	user := specs.User{UID: u.uid, GID: gid}
	if u.name != "" && !hasGroup {
		for _, g := range groups {
			if g.gid != gid && contains(g.members, u.name) {
				user.AdditionalGids = append(user.AdditionalGids, g.gid)
			}
		}
	}
	home := u.home
	if home == "" {
		home = "/"
	}
	return user, home, nil
}

// resolveGroup turns a group spec (gid or name) into a gid.
func resolveGroup(spec string, groups []groupEntry) (uint32, error) {
	if id, ok := parseID(spec); ok {
		return id, nil
	}
	for _, g := range groups {
		if g.name == spec {
			return g.gid, nil
		}
	}
	return 0, fmt.Errorf("group %q: not in the image's /etc/group", spec)
}

// parseID reads a uid or gid: a decimal below 2^32-1.
func parseID(s string) (uint32, bool) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == math.MaxUint32 {
		return 0, false
	}
	return uint32(n), true
}

// parsePasswd reads name:x:uid:gid:gecos:home:shell lines, skipping
// those it cannot read.
func parsePasswd(b []byte) []passwdEntry {
	var out []passwdEntry
	for _, f := range fieldLines(b, 7) {
		uid, ok1 := parseID(f[2])
		gid, ok2 := parseID(f[3])
		if ok1 && ok2 && f[0] != "" {
			out = append(out, passwdEntry{name: f[0], uid: uid, gid: gid, home: f[5]})
		}
	}
	return out
}

// parseGroup reads name:x:gid:member,member lines, skipping those it
// cannot read.
func parseGroup(b []byte) []groupEntry {
	var out []groupEntry
	for _, f := range fieldLines(b, 4) {
		gid, ok := parseID(f[2])
		if !ok || f[0] == "" {
			continue
		}
		var members []string
		if f[3] != "" {
			members = strings.Split(f[3], ",")
		}
		out = append(out, groupEntry{name: f[0], gid: gid, members: members})
	}
	return out
}

// fieldLines splits each line that is not a comment into exactly n
// colon-separated fields; other lines are skipped.
func fieldLines(b []byte, n int) [][]string {
	var out [][]string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 4096), 1<<20)
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

func contains(list []string, s string) bool {
	for _, e := range list {
		if strings.TrimSpace(e) == s {
			return true
		}
	}
	return false
}
