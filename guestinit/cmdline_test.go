package guestinit

import (
	"reflect"
	"testing"
)

func TestParseCmdline(t *testing.T) {
	got, err := ParseCmdline("console=ttyS0 quiet vmm.run=/bin/hello vmm.arg=-n vmm.arg=3 vmm.ip=10.0.0.2/24 vmm.gw=10.0.0.1 vmm.mount=/dev/vda:/mnt vmm.mount=/dev/vdb:/data:xfs vmm.shell=1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Run != "/bin/hello" || !reflect.DeepEqual(got.Args, []string{"-n", "3"}) || got.IP.String() != "10.0.0.2/24" ||
		got.GW.String() != "10.0.0.1" || !got.Shell || len(got.Mounts) != 2 ||
		got.Mounts[0] != (Mount{"/dev/vda", "/mnt", "ext4"}) || got.Mounts[1].FSType != "xfs" {
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
	if err != nil || root.Root == nil || *root.Root != (Mount{"/dev/vda", "/", "ext4"}) {
		t.Fatalf("vmm.root: %+v %v", root.Root, err)
	}
	if xfs, err := ParseCmdline("vmm.root=/dev/vdb:xfs"); err != nil || xfs.Root.FSType != "xfs" {
		t.Fatalf("vmm.root with a type: %+v %v", xfs.Root, err)
	}
	for _, bad := range []string{"vmm.root=vda", "vmm.input=raw", "vmm.root=/dev/vda:ext4:x", "vmm.root=/mnt/x", "vmm.run=hello", "vmm.ip=10.0.0.300/24", "vmm.gw=x", "vmm.mount=/dev/vda", "vmm.mount=vda:/mnt", "vmm.bogus=1"} {
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

func FuzzParseCmdline(f *testing.F) {
	f.Add("vmm.run=/bin/x vmm.mount=/a:/b:c")
	f.Fuzz(func(t *testing.T, s string) { ParseCmdline(s) })
}
