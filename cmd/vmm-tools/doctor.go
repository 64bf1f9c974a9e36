package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	flag "github.com/spf13/pflag"

	"github.com/vmmlab/vmm/cgroup"
	"github.com/vmmlab/vmm/container"
	"github.com/vmmlab/vmm/internal/cli"
	"github.com/vmmlab/vmm/kvm"
	"github.com/vmmlab/vmm/tap"
)

// check is one line of vmm doctor: what, whether it works, and details.
type check struct {
	name, detail string
	ok           bool
}

func runDoctor(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vmm doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dev := fs.String("kvm-device", kvm.DefaultDevice, "KVM device node")
	if code, ok := cli.ParseFlags(fs, args, stderr); !ok {
		return code
	}
	for _, c := range doctorChecks(*dev) {
		mark := "ok"
		if !c.ok {
			mark = "--"
		}
		fmt.Fprintf(stdout, "%-2s %-16s %s\n", mark, c.name, c.detail)
	}
	return 0
}

func doctorChecks(kvmDevice string) []check {
	var checks []check
	add := func(name string, ok bool, format string, a ...any) {
		checks = append(checks, check{name, fmt.Sprintf(format, a...), ok})
	}
	if sys, err := kvm.Open(kvmDevice); err != nil {
		add("kvm", false, "%v", err)
	} else {
		v, _ := sys.APIVersion()
		sys.Close()
		if err := kvm.CheckHardware(); err != nil {
			add("kvm", false, "%s, API version %d, but %v", kvmDevice, v, err)
		} else {
			add("kvm", true, "%s, API version %d", kvmDevice, v)
		}
	}
	if f, err := os.OpenFile(tap.Device, os.O_RDWR, 0); err != nil {
		add("tun/tap", false, "%v (modprobe tun; vmm boot --net needs it)", err)
	} else {
		f.Close()
		add("tun/tap", true, "%s", tap.Device)
	}
	mode, err := cgroup.DetectMode(cgroup.Root)
	if err != nil {
		add("cgroups", false, "%v", err)
	} else {
		add("cgroups", true, "%v", mode)
	}
	for _, name := range container.Runtimes() {
		rt, err := container.Find(name, mode)
		if err != nil {
			add(name, false, "%v", err)
			continue
		}
		detail := rt.Version
		if w := rt.Workaround(); w != "" {
			detail += "; " + w
		}
		rt.Close()
		add(name, true, "%s", detail)
	}
	userns, err := os.ReadFile("/proc/sys/user/max_user_namespaces")
	n := strings.TrimSpace(string(userns))
	add("user namespaces", err == nil && n != "0", "max_user_namespaces=%s", orNone(n, err))
	fsys, err := os.ReadFile("/proc/filesystems")
	if err == nil && strings.Contains(string(fsys), "\toverlay\n") {
		add("overlayfs", true, "in /proc/filesystems")
	} else {
		add("overlayfs", false, "not in /proc/filesystems (modprobe overlay)")
	}
	return checks
}

func orNone(s string, err error) string {
	if err != nil {
		return err.Error()
	}
	return s
}
