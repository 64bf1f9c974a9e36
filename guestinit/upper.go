package guestinit

import (
	"fmt"
	"regexp"
	"strings"
)

// UpperTmpfs is the vmm.upper value for an upper layer in a tmpfs of
// size (a tmpfs size= option: 64M, 1G, a byte count).
func UpperTmpfs(size string) string { return "tmpfs:" + size }

var (
	tmpfsSize = regexp.MustCompile(`^[1-9][0-9]{0,12}[kKmMgG]?$`)
	hostname  = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$`)
)

// checkUpper accepts tmpfs:SIZE and /dev/DEVICE.
func checkUpper(v string) error {
	if size, ok := strings.CutPrefix(v, "tmpfs:"); ok {
		if !tmpfsSize.MatchString(size) {
			return fmt.Errorf("vmm.upper=%q: want tmpfs:SIZE (64M, 1G, a byte count)", v)
		}
		return nil
	}
	if dev, ok := strings.CutPrefix(v, "/dev/"); !ok || dev == "" || strings.ContainsAny(dev, ":/") {
		return fmt.Errorf("vmm.upper=%q: want tmpfs:SIZE or /dev/DEVICE", v)
	}
	return nil
}

// checkHostname accepts what sethostname and /etc/hosts can carry: DNS
// labels, at most 64 bytes in all.
func checkHostname(v string) error {
	if len(v) > 64 || !hostname.MatchString(v) {
		return fmt.Errorf("vmm.hostname=%q: want letters, digits, '-' and '.', at most 64", v)
	}
	return nil
}
