package bench

import (
	"bufio"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/vmmlab/vmm/bench/results"
)

// ReadSmaps reads every mapping of process pid.
func ReadSmaps(pid int) ([]results.Mapping, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/smaps")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseSmaps(f)
}

// parseSmaps parses smaps text: a header line per mapping ("start-end
// perms offset dev inode [path]"), then "Key:  N kB" lines.
func parseSmaps(r io.Reader) ([]results.Mapping, error) {
	var out []results.Mapping
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if !strings.HasSuffix(f[0], ":") {
			if len(f) < 5 || !strings.Contains(f[0], "-") {
				continue
			}
			name := "[anon]"
			if len(f) >= 6 {
				name = strings.Join(f[5:], " ")
			}
			out = append(out, results.Mapping{Name: name})
			continue
		}
		if len(out) == 0 || len(f) < 2 {
			continue
		}
		v, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			continue
		}
		v <<= 10 // kB
		m := &out[len(out)-1]
		switch f[0] {
		case "Size:":
			m.Size = v
		case "Rss:":
			m.Rss = v
		case "Pss:":
			m.Pss = v
		case "Anonymous:":
			m.Anonymous = v
		case "AnonHugePages:":
			m.AnonHuge = v
		}
	}
	return out, sc.Err()
}

// guestRAMMapping is how vmm names its guest RAM where the kernel names
// anonymous mappings (memory.guestRAMName).
const guestRAMMapping = "[anon:vmm-guest-ram]"

// SplitGuest divides a VMM's mappings into guest RAM (mappings named as
// vmm's guest RAM, or at least as large as the guest's memory, as
// Firecracker's and Cloud Hypervisor's tests identify them) and everything
// else (the VMM's own overhead). Size alone is only right when guest RAM
// is a mapping of its own: an anonymous neighbour with the same flags is
// merged into it by the kernel (vmm keeps guard pages around its RAM).
func SplitGuest(ms []results.Mapping, guestRAM uint64) (guest, own []results.Mapping) {
	for _, m := range ms {
		if m.Name == guestRAMMapping || guestRAM > 0 && m.Size >= guestRAM {
			guest = append(guest, m)
		} else {
			own = append(own, m)
		}
	}
	return guest, own
}

// Sum adds up the mappings' sizes.
func Sum(ms []results.Mapping) (total results.Mapping) {
	for _, m := range ms {
		total.Size += m.Size
		total.Rss += m.Rss
		total.Pss += m.Pss
		total.Anonymous += m.Anonymous
		total.AnonHuge += m.AnonHuge
	}
	return total
}

// ByName groups mappings by name (summed), largest Rss first.
func ByName(ms []results.Mapping) []results.Mapping {
	idx := map[string]int{}
	var out []results.Mapping
	for _, m := range ms {
		i, ok := idx[m.Name]
		if !ok {
			idx[m.Name] = len(out)
			out = append(out, results.Mapping{Name: m.Name})
			i = len(out) - 1
		}
		s := Sum([]results.Mapping{out[i], m})
		s.Name = m.Name
		out[i] = s
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Rss > out[j-1].Rss; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
