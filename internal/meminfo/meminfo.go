// Package meminfo reads /proc/meminfo (or a file in its format): the one
// parser of it for vmm (which must stay small: no procfs library), the
// container measurements and the bench.
package meminfo

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Path is the kernel's file.
const Path = "/proc/meminfo"

// Info is the fields of a meminfo file, in bytes ("kB" values scaled;
// counts such as HugePages_Total as they are).
type Info map[string]int64

// Read parses the meminfo file at path.
func Read(path string) (Info, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(b)
}

// Parse parses meminfo text: "Name:   value [kB]" lines.
func Parse(b []byte) (Info, error) {
	info := Info{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		name, rest, ok := strings.Cut(line, ":")
		f := strings.Fields(rest)
		if !ok || len(f) < 1 || len(f) > 2 || len(f) == 2 && f[1] != "kB" {
			return nil, fmt.Errorf("meminfo: malformed line %q", line)
		}
		v, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("meminfo: %q: %w", line, err)
		}
		if len(f) == 2 {
			v <<= 10
		}
		info[strings.TrimSpace(name)] = v
	}
	return info, sc.Err()
}

// Need returns the named fields, or an error naming the first missing.
func (i Info) Need(names ...string) ([]int64, error) {
	out := make([]int64, len(names))
	for k, n := range names {
		v, ok := i[n]
		if !ok {
			return nil, fmt.Errorf("meminfo: no %s line", n)
		}
		out[k] = v
	}
	return out, nil
}
