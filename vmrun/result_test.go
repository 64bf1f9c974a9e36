package vmrun

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/vmmlab/vmm/guestinit"
)

func TestResult(t *testing.T) {
	vmLine := func(extra string) []byte {
		return []byte("vmm: booted\n" + `{"reason":"poweroff","detail":"the guest powered off","exit_code":7` + extra + "}\n")
	}
	for _, c := range []struct {
		name    string
		stderr  []byte
		stopped bool
		code    int
		started bool
		problem string
	}{
		{"the process's status", vmLine(`,"guest_status":7`), false, 7, true, ""},
		{"a signal's status", vmLine(`,"guest_status":143`), false, 143, true, ""},
		{"not found in the guest", vmLine(`,"guest_status":127`), false, 127, true, ""},
		{"status after a stop", vmLine(`,"guest_status":130`), true, 130, true, ""},
		{"powered off after the timeout", []byte(`{"reason":"interrupted","detail":"signal","exit_code":130}`), true, ExitKilled, false, "did not stop in time"},
		{"a VM that died first", []byte(`{"reason":"crashed","detail":"triple fault","exit_code":1}`), false, ExitOwnFailure, false, "crashed"},
		{"vmm failed to start the VM", []byte("vmm boot: --mem: bad size\n"), false, ExitOwnFailure, false, "--mem: bad size"},
	} {
		r := result(errors.New("exit status 1"), c.stderr, c.stopped)
		if r.ExitCode != c.code || r.Started != c.started || !strings.Contains(r.Problem, c.problem) || (c.problem == "") != (r.Problem == "") {
			t.Errorf("%s: %+v", c.name, r)
		}
	}
}

// The command line vmm boot gets: the image disk read-only as the
// overlay's lower layer, the upper layer, the streams' vsock device, and
// the guest's task as guestinit reads it.
func TestBootArgs(t *testing.T) {
	cfg := Config{Kernel: "/k/bzImage", Virtio: "mmio", Disk: "/store/ext4/abc.ext4", Scratch: "64M", Mem: "256M", CPUs: 1, Hostname: "web"}
	args, err := bootArgs(cfg, files{initrd: "/run/x/initrd.cpio", vsock: "/run/x/vsock"})
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Join(args, " ")
	for _, want := range []string{"--kernel /k/bzImage", "--initrd /run/x/initrd.cpio", "--disk /store/ext4/abc.ext4,ro", "--virtio mmio",
		"--vsock cid=3,uds=/run/x/vsock", "--json", "--mem 256M"} {
		if !strings.Contains(line, want) {
			t.Errorf("%q lacks %q", line, want)
		}
	}
	task, err := guestinit.ParseCmdline(args[len(args)-1])
	if err != nil || task.Root == nil || task.Root.Source != "/dev/vda" || task.Upper != "tmpfs:64M" || task.Hostname != "web" {
		t.Errorf("task %+v, %v", task, err)
	}
	cfg.ScratchDisk = "/tmp/s.ext4"
	args, _ = bootArgs(cfg, files{initrd: "i", vsock: "v"})
	if line := strings.Join(args, " "); !strings.Contains(line, "vmm.upper=/dev/vdb") || !strings.HasSuffix(line, "--disk /tmp/s.ext4") {
		t.Errorf("scratch disk: %q", line)
	}
	cfg.Hostname = "bad name"
	if _, err := bootArgs(cfg, files{}); err == nil {
		t.Error("a host name with a space was taken")
	}
}

// With a network, the guest gets its address and gateway on the
// command line and vmm boot the tap as fd 3.
func TestBootArgsNet(t *testing.T) {
	cfg := Config{Kernel: "k", Virtio: "pci", Disk: "d", Scratch: "64M", Mem: "256M", CPUs: 1, Hostname: "h",
		Net: &Net{Addr: netip.MustParsePrefix("10.0.4.17/24"), Gateway: netip.MustParseAddr("10.0.4.1")}}
	args, err := bootArgs(cfg, files{initrd: "i", vsock: "v"})
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Join(args, " ")
	if !strings.Contains(line, "--net fd=3") || !strings.Contains(line, "vmm.ip=10.0.4.17/24") || !strings.Contains(line, "vmm.gw=10.0.4.1") {
		t.Errorf("%q", line)
	}
}
