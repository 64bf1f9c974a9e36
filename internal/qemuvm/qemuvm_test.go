package qemuvm

import (
	"strings"
	"testing"
)

func TestArgs(t *testing.T) {
	for _, c := range []struct {
		m    Microvm
		want string
	}{
		{Microvm{MemMiB: 96, Kernel: "k", Cmdline: "console=ttyS0"},
			"-accel kvm -M microvm,x-option-roms=off,isa-serial=on,rtc=on -cpu host -m 96M -smp 1 -nodefaults -no-user-config -nographic -serial stdio -no-reboot -kernel k -append console=ttyS0"},
		{Microvm{MemMiB: 256, CPUs: 2, Kernel: "k", Initrd: "i", Cmdline: "c", RootDisk: "/r.ext4", RNG: true},
			"-accel kvm -M microvm,x-option-roms=off,isa-serial=on,rtc=on -cpu host -m 256M -smp 2 -nodefaults -no-user-config -nographic -serial stdio -no-reboot " +
				"-drive id=root,file=/r.ext4,format=raw,if=none,readonly=on -device virtio-blk-device,drive=root -device virtio-rng-device -kernel k -initrd i -append c"},
		{Microvm{MemMiB: 64, Kernel: "k", Cmdline: "c", TapFD: 3, MAC: "52:54:0a:4e:00:02"},
			"-accel kvm -M microvm,x-option-roms=off,isa-serial=on,rtc=on -cpu host -m 64M -smp 1 -nodefaults -no-user-config -nographic -serial stdio -no-reboot " +
				"-netdev tap,id=net0,fd=3 -device virtio-net-device,netdev=net0,mac=52:54:0a:4e:00:02 -kernel k -append c"},
	} {
		if got := strings.Join(c.m.Args(), " "); got != c.want {
			t.Errorf("%+v:\n got %s\nwant %s", c.m, got, c.want)
		}
	}
}
