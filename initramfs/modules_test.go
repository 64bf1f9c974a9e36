package initramfs

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const dep = `kernel/arch/x86/kvm/kvm.ko: kernel/virt/lib/irqbypass.ko
kernel/arch/x86/kvm/kvm-amd.ko: kernel/arch/x86/kvm/kvm.ko kernel/virt/lib/irqbypass.ko kernel/drivers/crypto/ccp/ccp.ko
kernel/virt/lib/irqbypass.ko:
kernel/drivers/crypto/ccp/ccp.ko:
kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko
kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko
kernel/net/core/failover.ko:
`

func TestLoadOrder(t *testing.T) {
	got, err := LoadOrder([]byte(dep), "kvm_amd", "virtio-net", "kvm")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"kernel/virt/lib/irqbypass.ko", "kernel/arch/x86/kvm/kvm.ko", "kernel/drivers/crypto/ccp/ccp.ko",
		"kernel/arch/x86/kvm/kvm-amd.ko", "kernel/net/core/failover.ko", "kernel/drivers/net/net_failover.ko",
		"kernel/drivers/net/virtio_net.ko",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("order\n got %q\nwant %q", got, want)
	}
}

func TestLoadOrderErrors(t *testing.T) {
	if _, err := LoadOrder([]byte(dep), "nosuch"); err == nil || !strings.Contains(err.Error(), "nosuch") {
		t.Errorf("missing module: %v", err)
	}
	if _, err := LoadOrder([]byte("a.ko: b.ko\nb.ko: a.ko\n"), "a"); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("cycle: %v", err)
	}
	if _, err := LoadOrder([]byte("a.ko: missing.ko\n"), "a"); err == nil || !strings.Contains(err.Error(), "needed by a") {
		t.Errorf("missing dependency: %v", err)
	}
	if _, err := LoadOrder([]byte("garbage line\n"), "a"); err == nil {
		t.Error("malformed modules.dep accepted")
	}
}

// A shipped kernel package has no modules.dep: the order then comes from
// the modules' own .modinfo sections. Checked against the Debian kernel the
// lab caches, when it is there.
func TestLoadOrderFromModinfo(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join(os.Getenv("HOME"), ".cache/vmm/kernels/*/lib/modules/*"))
	if len(dirs) == 0 {
		t.Skip("no cached Debian kernel (make kernel fetches one)")
	}
	got, err := LoadOrderFromDir(dirs[0], "kvm_amd")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) < 2 || ModuleName(got[len(got)-1]) != "kvm_amd" {
		t.Fatalf("order %q", got)
	}
	pos := map[string]int{}
	for i, f := range got {
		pos[ModuleName(f)] = i
	}
	if kvm, ok := pos["kvm"]; !ok || kvm > pos["kvm_amd"] {
		t.Fatalf("kvm must load before kvm_amd: %q", got)
	}
}

func TestModuleName(t *testing.T) {
	for in, want := range map[string]string{"kernel/x/kvm-amd.ko.xz": "kvm_amd", "kvm_amd": "kvm_amd", "virtio_net.ko": "virtio_net"} {
		if got := ModuleName(in); got != want {
			t.Errorf("ModuleName(%q) = %q", in, got)
		}
	}
}
