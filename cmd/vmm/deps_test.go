package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The vmm binary is what every VM process maps: its text counts in each
// VM's own memory. Commands that do not run a VM live in vmm-tools and
// vmm-bench; this keeps their dependencies out of vmm (they once made it
// 4.2 MB of text where 2.8 MB do).
func TestVMMBinaryLeavesOutWhatVMsDoNotNeed(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("needs the go command")
	}
	out, err := exec.Command(goBin, "list", "-deps", "github.com/vmmlab/vmm/cmd/vmm").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	for _, unwanted := range []string{
		"github.com/vishvananda/netlink", "github.com/opencontainers/runtime-spec/specs-go",
		"github.com/vmmlab/vmm/container", "github.com/vmmlab/vmm/initramfs", "github.com/vmmlab/vmm/privnet",
		"github.com/vmmlab/vmm/bench", "crypto/rand", "crypto/sha256", "debug/elf", "compress/gzip", "gvisor.dev/gvisor/pkg/seccomp",
		"net/http", "github.com/vmmlab/vmm/api/apiclient", // the control API is served without net/http (+5 MB of binary, +2 MB resident)
		"github.com/vmmlab/vmm/image/store", "github.com/google/go-containerregistry/pkg/v1", // vmm image runs in vmm-tools
	} {
		for _, d := range deps {
			if d == unwanted {
				t.Errorf("vmm links %s", unwanted)
			}
		}
	}
}

func TestHelperMissing(t *testing.T) {
	var out, errb strings.Builder
	if rc := runHelper("vmm-no-such-helper", nil, &out, &errb); rc != 2 || !strings.Contains(errb.String(), "not installed beside vmm") {
		t.Errorf("rc %d, %q", rc, errb.String())
	}
}
