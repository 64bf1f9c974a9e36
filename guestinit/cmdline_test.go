package guestinit

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func TestParseCmdline(t *testing.T) {
	got, err := ParseCmdline("console=ttyS0 quiet vmm.run=/bin/hello vmm.arg=-n vmm.arg=3 vmm.ip=10.0.0.2/24 vmm.gw=10.0.0.1 vmm.mount=/dev/vda:/mnt vmm.mount=/dev/vdb:/data:xfs vmm.mount=/dev/pmem0:/ro::dax vmm.shell=1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Run != "/bin/hello" || !reflect.DeepEqual(got.Args, []string{"-n", "3"}) || got.IP.String() != "10.0.0.2/24" ||
		got.GW.String() != "10.0.0.1" || !got.Shell || len(got.Mounts) != 3 ||
		got.Mounts[0] != (Mount{"/dev/vda", "/mnt", "ext4", ""}) || got.Mounts[1].FSType != "xfs" ||
		got.Mounts[2] != (Mount{"/dev/pmem0", "/ro", "ext4", "dax"}) {
		t.Fatalf("task %+v", got)
	}
	empty, err := ParseCmdline("console=ttyS0 root=/dev/vda")
	if err != nil || empty.Run != "" || empty.Shell {
		t.Fatalf("no task: %+v %v", empty, err)
	}
	if lines, err := ParseCmdline("console=ttyS0 " + LineInput); err != nil || !lines.Lines {
		t.Fatalf("%s: %+v %v", LineInput, lines, err)
	}
	root, err := ParseCmdline("vmm.root=/dev/vda vmm.run=/bin/http")
	if err != nil || root.Root == nil || *root.Root != (Mount{"/dev/vda", "/", "ext4", ""}) {
		t.Fatalf("vmm.root: %+v %v", root.Root, err)
	}
	if xfs, err := ParseCmdline("vmm.root=/dev/vdb:xfs"); err != nil || xfs.Root.FSType != "xfs" {
		t.Fatalf("vmm.root with a type: %+v %v", xfs.Root, err)
	}
	for _, bad := range []string{"vmm.root=vda", "vmm.input=raw", "vmm.root=/dev/vda:ext4:x", "vmm.root=/mnt/x", "vmm.run=hello", "vmm.ip=10.0.0.300/24", "vmm.gw=x", "vmm.mount=/dev/vda", "vmm.mount=vda:/mnt", "vmm.mount=/dev/vda:/mnt:ext4:dax:x", "vmm.bogus=1"} {
		if _, err := ParseCmdline(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestModuleParams(t *testing.T) {
	cmdline := "console=ttyS0 virtio_mmio.device=512@0xd0000000:5 quiet virtio-mmio.device=4K@0xd0001000:6 virtio_mmiox.y=1 virtio_mmio. vmm.run=/bin/x"
	if got, want := ModuleParams(cmdline, "virtio_mmio"), "device=512@0xd0000000:5 device=4K@0xd0001000:6"; got != want {
		t.Errorf("params %q, want %q", got, want)
	}
	if got := ModuleParams(cmdline, "ext4"); got != "" {
		t.Errorf("ext4 got %q", got)
	}
}

// FuzzParseCmdline: no command line panics the parser, and a task
// parsed from one comes back the same through Cmdline.
func FuzzParseCmdline(f *testing.F) {
	f.Add("vmm.run=/bin/x vmm.mount=/a:/b:c")
	f.Add("vmm.root=/dev/vda vmm.upper=tmpfs:64M vmm.hostname=a.b")
	f.Add("vmm.root=/dev/vda:xfs vmm.upper=/dev/vdb")
	f.Add("vmm.root=/dev/vda vmm.ip=10.0.0.2/24 vmm.gw=10.0.0.1 vmm.arg= vmm.arg=x vmm.shell=1 vmm.input=lines")
	f.Fuzz(func(t *testing.T, s string) {
		task, err := ParseCmdline(s)
		if err != nil {
			return
		}
		line, err := task.Cmdline()
		if err != nil {
			t.Fatalf("%q parsed as %+v, which Cmdline refuses: %v", s, task, err)
		}
		back, err := ParseCmdline(line)
		if err != nil || !back.equal(task.normal()) {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", s, task, line, back, err)
		}
	})
}

// Cmdline is ParseCmdline's inverse, and refuses what a command line
// cannot carry.
func TestCmdline(t *testing.T) {
	task := Task{Run: "/bin/testworkload", Args: []string{"sleep", "600", ""}, IP: netip.MustParsePrefix("10.0.0.2/24"),
		GW: netip.MustParseAddr("10.0.0.1"), Mounts: []Mount{{Source: "/dev/vdb", Target: "/mnt"}, {Source: "/dev/pmem0", Target: "/ro", Options: "dax"}}, Shell: true, Lines: true,
		Root: &Mount{Source: "/dev/vda", FSType: "ext4"}}
	line, err := task.Cmdline()
	if err != nil {
		t.Fatal(err)
	}
	want := "vmm.root=/dev/vda:ext4 vmm.mount=/dev/vdb:/mnt:ext4 vmm.mount=/dev/pmem0:/ro:ext4:dax vmm.ip=10.0.0.2/24 vmm.gw=10.0.0.1 vmm.input=lines vmm.shell=1 vmm.run=/bin/testworkload vmm.arg=sleep vmm.arg=600 vmm.arg="
	if line != want {
		t.Fatalf("Cmdline:\n%s\nwant\n%s", line, want)
	}
	if back, err := ParseCmdline(line); err != nil || !back.equal(task.normal()) {
		t.Fatalf("parsed back: %+v %v", back, err)
	}
	for _, bad := range []Task{
		{Run: "bin/x"},
		{Run: "/bin/x", Args: []string{"two words"}},
		{Run: "/bin/x", Args: []string{"tab\there"}},
		{Mounts: []Mount{{Source: "/dev/vdb", Target: "/mnt:x"}}},
	} {
		if line, err := bad.Cmdline(); err == nil {
			t.Errorf("%+v gave %q", bad, line)
		}
	}
}

func TestOverlayRootParameters(t *testing.T) {
	task, err := ParseCmdline("vmm.root=/dev/vda vmm.upper=tmpfs:64M vmm.hostname=web-1.local")
	if err != nil || task.Upper != "tmpfs:64M" || task.Hostname != "web-1.local" {
		t.Fatalf("task %+v, %v", task, err)
	}
	if disk, err := ParseCmdline("vmm.root=/dev/vda vmm.upper=/dev/vdb"); err != nil || disk.Upper != "/dev/vdb" {
		t.Fatalf("scratch disk: %+v, %v", disk, err)
	}
	line, err := Task{Root: &Mount{Source: "/dev/vda"}, Upper: UpperTmpfs("1G"), Hostname: "abc"}.Cmdline()
	if err != nil || line != "vmm.root=/dev/vda:ext4 vmm.upper=tmpfs:1G vmm.hostname=abc" {
		t.Fatalf("cmdline %q, %v", line, err)
	}
	for _, bad := range []string{"vmm.upper=tmpfs:64M", "vmm.root=/dev/vda vmm.upper=tmpfs:", "vmm.root=/dev/vda vmm.upper=tmpfs:64Q",
		"vmm.root=/dev/vda vmm.upper=tmpfs:0", "vmm.root=/dev/vda vmm.upper=/dev/", "vmm.root=/dev/vda vmm.upper=/tmp/x", "vmm.root=/dev/vda vmm.upper=/dev/a/b",
		"vmm.hostname=", "vmm.hostname=-x", "vmm.hostname=a_b", "vmm.hostname=" + strings.Repeat("a", 65), "vmm.hostname=a..b"} {
		if _, err := ParseCmdline(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
