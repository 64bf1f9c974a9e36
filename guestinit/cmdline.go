// Package guestinit owns what vmm's guest init (cmd/vmm-init) does inside
// the VM: it mounts the pseudo filesystems, loads the kernel modules shipped
// in the image, tells the host it has booted, reads its task from the kernel
// command line (and an OCI image's process from /vmm/process.json), makes
// a disk or an overlay over it the root, runs the workload, the image's
// process (its streams on vsock) or a shell, and powers the VM off with the
// exit status visible to the host.
package guestinit

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Task is what the kernel command line asks the init to do.
type Task struct {
	Run    string       // vmm.run=/bin/workload: the program to run; "" starts a shell
	Args   []string     // vmm.arg=... (repeatable): its arguments, in order
	IP     netip.Prefix // vmm.ip=10.0.0.2/24: eth0's address
	GW     netip.Addr   // vmm.gw=10.0.0.1: default route
	Mounts []Mount      // vmm.mount=/dev/vda:/mnt[:ext4[:OPTIONS]] (repeatable)
	Shell  bool         // vmm.shell=1: start the shell after the workload instead of powering off
	Lines  bool         // vmm.input=lines (LineInput): the shell reads the console line by line
	// Root, from vmm.root=/dev/vda[:ext4], is a disk the init mounts
	// read-only and makes the root before it runs anything: an initramfs
	// that only loads the disk's drivers, then the disk's userland.
	Root *Mount
	// Upper, from vmm.upper=tmpfs:SIZE or vmm.upper=/dev/DEVICE, makes
	// the root an overlay: Root is its read-only lower layer, and the
	// upper layer (what the guest writes) is a tmpfs of SIZE or the ext4
	// disk DEVICE. It needs Root.
	Upper string
	// Hostname, from vmm.hostname=NAME, is the guest's host name.
	Hostname string
	// MemReport, from vmm.memreport=SECONDS, has the init print where the
	// guest's memory went (MemReportPrefix) that long after it started
	// the workload; 0: never.
	MemReport int
}

// Mount is one vmm.mount= request. Options are the file system's own
// (mount(2)'s data, e.g. "dax" for ext4 on virtio-pmem); none for a root.
type Mount struct {
	Source, Target, FSType, Options string
}

// ParseCmdline reads the vmm.* parameters from a kernel command line;
// everything else is the kernel's business and ignored. A malformed vmm.*
// parameter is an error (the init reports it and powers off).
func ParseCmdline(cmdline string) (Task, error) {
	var t Task
	for _, f := range strings.Fields(cmdline) {
		key, val, _ := strings.Cut(f, "=")
		var err error
		switch key {
		case "vmm.run":
			if !strings.HasPrefix(val, "/") {
				err = fmt.Errorf("vmm.run=%q: want an absolute path", val)
			}
			t.Run = val
		case "vmm.arg":
			t.Args = append(t.Args, val)
		case "vmm.ip":
			t.IP, err = netip.ParsePrefix(val)
		case "vmm.gw":
			t.GW, err = netip.ParseAddr(val)
		case "vmm.input":
			if val != "lines" {
				err = fmt.Errorf("vmm.input=%q: want lines", val)
			}
			t.Lines = true
		case "vmm.shell":
			t.Shell = val == "1" || val == "yes" || val == "true"
		case "vmm.root":
			src, fstype, _ := strings.Cut(val, ":")
			if fstype == "" {
				fstype = "ext4"
			}
			if !strings.HasPrefix(src, "/dev/") || strings.Contains(fstype, ":") {
				err = fmt.Errorf("vmm.root=%q: want /dev/DEVICE[:FSTYPE]", val)
			}
			t.Root = &Mount{Source: src, Target: "/", FSType: fstype}
		case "vmm.upper":
			err = checkUpper(val)
			t.Upper = val
		case "vmm.hostname":
			err = checkHostname(val)
			t.Hostname = val
		case "vmm.memreport":
			t.MemReport, err = parseMemReport(val)
		case "vmm.mount":
			var m Mount
			m, err = parseMount(val)
			t.Mounts = append(t.Mounts, m)
		default:
			if strings.HasPrefix(key, "vmm.") {
				err = fmt.Errorf("unknown parameter %s", key)
			}
		}
		if err != nil {
			return Task{}, fmt.Errorf("kernel command line: %w", err)
		}
	}
	if t.Upper != "" && t.Root == nil {
		return Task{}, errors.New("kernel command line: vmm.upper needs vmm.root (its lower layer)")
	}
	return t, nil
}

// Cmdline is t as the vmm.* parameters of a kernel command line: the
// inverse of ParseCmdline, so that whoever starts a guest (the bench, the
// lab, the tests) builds them here and never by hand. A value that a
// command line cannot carry (a space, a vmm.run that is not absolute, a
// mount field holding ":") is an error.
func (t Task) Cmdline() (string, error) {
	t = t.normal()
	var ps []string
	add := func(key, val string) { ps = append(ps, key+"="+val) }
	if t.Root != nil {
		add("vmm.root", t.Root.Source+":"+t.Root.FSType)
	}
	if t.Upper != "" {
		add("vmm.upper", t.Upper)
	}
	if t.Hostname != "" {
		add("vmm.hostname", t.Hostname)
	}
	if t.MemReport != 0 {
		add("vmm.memreport", fmt.Sprint(t.MemReport))
	}
	for _, m := range t.Mounts {
		v := m.Source + ":" + m.Target + ":" + m.FSType
		if m.Options != "" {
			v += ":" + m.Options
		}
		add("vmm.mount", v)
	}
	if t.IP.IsValid() {
		add("vmm.ip", t.IP.String())
	}
	if t.GW.IsValid() {
		add("vmm.gw", t.GW.String())
	}
	if t.Lines {
		add("vmm.input", "lines")
	}
	if t.Shell {
		add("vmm.shell", "1")
	}
	if t.Run != "" {
		add("vmm.run", t.Run)
	}
	for _, a := range t.Args {
		add("vmm.arg", a)
	}
	line := strings.Join(ps, " ")
	for _, p := range ps {
		if strings.ContainsAny(p, " \t\n\r\v\f") || strings.ContainsRune(p, 0x85) || strings.ContainsRune(p, 0xa0) {
			return "", fmt.Errorf("kernel command line: %q holds white space, which separates parameters", p)
		}
	}
	back, err := ParseCmdline(line)
	if err != nil {
		return "", err
	}
	if !back.equal(t) {
		return "", fmt.Errorf("kernel command line: %+v does not survive as %q", t, line)
	}
	return line, nil
}

// normal is t with the defaults ParseCmdline fills in made explicit: a
// root is mounted at /, a file system is ext4 unless named.
func (t Task) normal() Task {
	if t.Root != nil {
		r := *t.Root
		r.Target = "/"
		if r.FSType == "" {
			r.FSType = "ext4"
		}
		t.Root = &r
	}
	ms := make([]Mount, len(t.Mounts))
	for i, m := range t.Mounts {
		if m.FSType == "" {
			m.FSType = "ext4"
		}
		ms[i] = m
	}
	t.Mounts = ms
	return t
}

// equal says whether t and u ask for the same (a nil and an empty Args
// alike).
func (t Task) equal(u Task) bool {
	same := func(a, b []string) bool {
		return strings.Join(a, "\x00") == strings.Join(b, "\x00") && len(a) == len(b)
	}
	sameMounts := len(t.Mounts) == len(u.Mounts)
	for i := 0; sameMounts && i < len(t.Mounts); i++ {
		sameMounts = t.Mounts[i] == u.Mounts[i]
	}
	sameRoot := t.Root == nil && u.Root == nil || t.Root != nil && u.Root != nil && *t.Root == *u.Root
	return t.Run == u.Run && t.Upper == u.Upper && t.Hostname == u.Hostname && same(t.Args, u.Args) && t.IP == u.IP && t.GW == u.GW && sameMounts && t.Shell == u.Shell &&
		t.Lines == u.Lines && sameRoot && t.MemReport == u.MemReport
}

func parseMount(v string) (Mount, error) {
	parts := strings.Split(v, ":")
	if len(parts) < 2 || len(parts) > 4 || !strings.HasPrefix(parts[0], "/") || !strings.HasPrefix(parts[1], "/") {
		return Mount{}, fmt.Errorf("vmm.mount=%q: want /dev/DEVICE:/TARGET[:FSTYPE[:OPTIONS]]", v)
	}
	m := Mount{Source: parts[0], Target: parts[1], FSType: "ext4"}
	if len(parts) >= 3 && parts[2] != "" {
		m.FSType = parts[2]
	}
	if len(parts) == 4 {
		m.Options = parts[3]
	}
	return m, nil
}

// ModuleParams are the parameters the kernel command line gives module
// name (name.param=value), in order, as one string for finit_module: what
// modprobe does for a module that is not built in. Dashes and underscores
// in the name are the same, as for the kernel.
func ModuleParams(cmdline, name string) string {
	norm := func(s string) string { return strings.ReplaceAll(s, "-", "_") }
	var params []string
	for _, f := range strings.Fields(cmdline) {
		mod, param, ok := strings.Cut(f, ".")
		if ok && param != "" && norm(mod) == norm(name) {
			params = append(params, param)
		}
	}
	return strings.Join(params, " ")
}
