// Package size parses human-written byte sizes such as 512M, 1.5G or
// 1073741824. Units are binary (K = 1024).
package size

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Parse turns s into a byte count. Accepted: a plain integer (bytes), or a
// number with one of K, M, G, T, optionally followed by "iB" or "B"
// ("512M", "512MiB", "1.5G"). A fraction must come to a whole byte count.
func Parse(s string) (uint64, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("invalid size %q: empty", s)
	}
	num := strings.TrimRightFunc(t, func(r rune) bool { return r < '0' || r > '9' && r != '.' })
	unit := strings.ToUpper(t[len(num):])
	unit = strings.TrimSuffix(strings.TrimSuffix(unit, "IB"), "B")
	shift := map[string]uint{"": 0, "K": 10, "M": 20, "G": 30, "T": 40}
	sh, ok := shift[unit]
	if !ok {
		return 0, fmt.Errorf("invalid size %q: unknown unit %q (use K, M, G or T, e.g. 512M)", s, t[len(num):])
	}
	if num == "" {
		return 0, fmt.Errorf("invalid size %q: no number", s)
	}
	if !strings.Contains(num, ".") {
		n, err := strconv.ParseUint(num, 10, 64)
		if err != nil || (sh > 0 && n > math.MaxUint64>>sh) {
			return 0, fmt.Errorf("invalid size %q: not a number or too large", s)
		}
		return n << sh, nil
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q: not a number", s)
	}
	v := f * float64(uint64(1)<<sh)
	if v >= 1<<63 || v != math.Trunc(v) {
		return 0, fmt.Errorf("invalid size %q: not a whole number of bytes", s)
	}
	return uint64(v), nil
}
