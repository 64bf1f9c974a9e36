package main

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/vmmlab/vmm/internal/size"
	"github.com/vmmlab/vmm/machine"
	"github.com/vmmlab/vmm/memory"
)

// parseDisks reads --disk PATH[,ro] values.
func parseDisks(specs []string) ([]machine.Disk, error) {
	var disks []machine.Disk
	for _, s := range specs {
		path, ro, err := parsePathRO("--disk", s)
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("--disk: %w", err)
		}
		disks = append(disks, machine.Disk{Path: path, ReadOnly: ro})
	}
	return disks, nil
}

// parsePmem reads --pmem PATH[,ro] and refuses a file that cannot be a
// window at once; the machine checks it again when it maps it, and takes
// its lock.
func parsePmem(specs []string) ([]machine.Pmem, error) {
	var out []machine.Pmem
	for _, s := range specs {
		path, ro, err := parsePathRO("--pmem", s)
		if err != nil {
			return nil, err
		}
		if err := memory.CheckWindowPath(path); err != nil {
			return nil, fmt.Errorf("--pmem: %w", err)
		}
		out = append(out, machine.Pmem{Path: path, ReadOnly: ro})
	}
	return out, nil
}

// parsePathRO reads flag's PATH[,ro] value (ro may be spelt readonly).
func parsePathRO(flag, s string) (path string, readOnly bool, err error) {
	parts := strings.Split(s, ",")
	for _, opt := range parts[1:] {
		switch opt {
		case "ro", "readonly":
			readOnly = true
		default:
			return "", false, fmt.Errorf("%s %s: unknown option %q (want PATH[,ro])", flag, s, opt)
		}
	}
	if parts[0] == "" {
		return "", false, fmt.Errorf("%s %q: no path", flag, s)
	}
	return parts[0], readOnly, nil
}

// parseNICs reads --net tap=NAME[,mac=MAC] and --net fd=N[,mac=MAC].
func parseNICs(specs []string) ([]machine.NIC, error) {
	var nics []machine.NIC
	fds, taps := map[int]bool{}, map[string]bool{}
	for _, s := range specs {
		n := machine.NIC{FD: -1}
		seen := map[string]bool{}
		for _, opt := range strings.Split(s, ",") {
			key, val, _ := strings.Cut(opt, "=")
			if seen[key] {
				return nil, fmt.Errorf("--net %s: %s given twice", s, key)
			}
			seen[key] = true
			switch {
			case key == "tap" && val != "":
				n.Tap = val
			case key == "fd" && val != "":
				fd, err := strconv.Atoi(val)
				if err != nil || fd < 3 {
					return nil, fmt.Errorf("--net %s: fd %q: want an open file descriptor number of 3 or more", s, val)
				}
				n.FD = fd
			case key == "mac":
				hw, err := net.ParseMAC(val)
				if err != nil || len(hw) != 6 {
					return nil, fmt.Errorf("--net %s: mac %q: want six hex bytes like 02:00:00:00:00:01", s, val)
				}
				if hw[0]&1 != 0 {
					return nil, fmt.Errorf("--net %s: mac %s is a multicast address", s, val)
				}
				copy(n.MAC[:], hw)
			default:
				return nil, fmt.Errorf("--net %s: unknown option %q (want tap=NAME or fd=N, then optionally mac=MAC)", s, opt)
			}
		}
		if (n.Tap == "") == (n.FD < 0) {
			return nil, fmt.Errorf("--net %s: give exactly one of tap=NAME and fd=N", s)
		}
		// vmm takes over a descriptor (and closes it): one NIC each.
		if n.FD >= 0 && fds[n.FD] || n.Tap != "" && taps[n.Tap] {
			return nil, fmt.Errorf("--net %s: that interface is given to another --net already", s)
		}
		fds[n.FD], taps[n.Tap] = true, true
		nics = append(nics, n)
	}
	return nics, nil
}

// defaultRNGRate is what --rng on lets a guest take: a kernel seeds its
// generator from 32 bytes, and a guest reading /dev/hwrng in a loop costs
// the host no more than this.
const defaultRNGRate = 1 << 20

// parseRNG reads --rng: on, off, or rate=BYTES (per second; 0: no limit).
func parseRNG(s string) (*machine.RNG, error) {
	switch {
	case s == "on":
		return &machine.RNG{Rate: defaultRNGRate}, nil
	case s == "off":
		return nil, nil
	case strings.HasPrefix(s, "rate="):
		rate, err := size.Parse(strings.TrimPrefix(s, "rate="))
		if err != nil {
			return nil, fmt.Errorf("--rng %q: %w", s, err)
		}
		return &machine.RNG{Rate: rate}, nil
	}
	return nil, fmt.Errorf("--rng %q: want on, off or rate=BYTES (per second)", s)
}

// parseBalloon reads --balloon: off, on, or target=SIZE.
func parseBalloon(s string) (*machine.Balloon, error) {
	switch {
	case s == "off":
		return nil, nil
	case s == "on":
		return &machine.Balloon{}, nil
	case strings.HasPrefix(s, "target="):
		target, err := size.Parse(strings.TrimPrefix(s, "target="))
		if err != nil {
			return nil, fmt.Errorf("--balloon %q: %w", s, err)
		}
		return &machine.Balloon{Target: target}, nil
	}
	return nil, fmt.Errorf("--balloon %q: want on, off or target=SIZE", s)
}

// parseVsock reads --vsock cid=N,uds=PATH ("" or off: no device).
func parseVsock(s string) (*machine.Vsock, error) {
	if s == "" || s == "off" {
		return nil, nil
	}
	v := &machine.Vsock{}
	for _, opt := range strings.Split(s, ",") {
		key, val, _ := strings.Cut(opt, "=")
		switch key {
		case "cid":
			cid, err := strconv.ParseUint(val, 10, 32)
			if err != nil || cid < 3 || cid == 1<<32-1 {
				return nil, fmt.Errorf("--vsock %s: cid %q: want a number from 3 to 4294967294", s, val)
			}
			v.CID = cid
		case "uds":
			v.Path = val
		default:
			return nil, fmt.Errorf("--vsock %s: unknown option %q (want cid=N,uds=PATH)", s, opt)
		}
	}
	if v.CID == 0 || v.Path == "" {
		return nil, fmt.Errorf("--vsock %s: give both cid=N and uds=PATH", s)
	}
	return v, nil
}
