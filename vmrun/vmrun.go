// Package vmrun owns running one process of an OCI image in a microVM
// (vmm run IMAGE): the run's initramfs (vmm-init and the process as
// /vmm/process.json), the vmm boot command line that attaches the
// image's ext4 as a read-only disk under an overlay root, the host's
// end of the process's streams over virtio-vsock, the signals it
// relays, and the exit status. It starts vmm boot and never links the
// machine; the image store and the config mapping are its callers'.
package vmrun

import (
	"net/netip"
	"os"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/vmmlab/vmm/runresult"
)

// Config is one run.
type Config struct {
	VMM     string // the vmm binary
	Kernel  string // the guest kernel (bzImage)
	Virtio  string // pci or mmio
	VMMInit string // the static vmm-init, as /init of a run's own initramfs
	// Initrd, when set, is the initramfs to boot instead of one holding
	// only VMMInit: vmm-init with the kernel's modules (a Debian kernel).
	Initrd      string
	Disk        string // the image's ext4, attached read-only as /dev/vda
	Scratch     string // a tmpfs size (64M) for what the guest writes, or
	ScratchDisk string // an ext4 file for it, attached as /dev/vdb
	Mem         string // vmm boot --mem
	CPUs        int
	Hostname    string
	Process     specs.Process
	// Interactive connects the caller's stdin to the process (-i);
	// without it the process reads /dev/null.
	Interactive bool
	// StopTimeout is how long the process has, after the first SIGINT or
	// SIGTERM, before vmm powers the VM off.
	StopTimeout time.Duration
	Verbose     bool     // vmm's and the guest's own lines on stderr
	Extra       []string // more vmm boot flags
	Net         *Net     // the VM's network interface; nil for none
}

// Net is a VM's network interface: a TAP plugged into a bridge (opened
// with virtio-net headers; vmm boot gets it as --net fd=3) and the
// guest's address on it.
type Net struct {
	Tap     *os.File
	Addr    netip.Prefix
	Gateway netip.Addr
}

// Result is how a run ended.
type Result struct {
	// ExitCode is vmm run's status: the process's (128+N for signal N),
	// 126 or 127 when it could not start, 125 when the VM failed first.
	ExitCode int `json:"exit_code"`
	// Started is true when the guest reported the process's status.
	Started bool `json:"process_status_reported"`
	// Stopped is true when the VM was powered off after the stop
	// timeout.
	Stopped bool `json:"stopped_after_timeout,omitempty"`
	// VM is vmm boot's own result (nil when it printed none).
	VM *runresult.Result `json:"vm,omitempty"`
	// Problem says why the run failed, for people ("" when the process
	// ran).
	Problem string `json:"problem,omitempty"`
}

// Exit statuses of a run the process did not end, as docker run's.
const (
	ExitOwnFailure = 125 // vmm, the image or the VM failed before the process ran
	ExitKilled     = 137 // stopped after the stop timeout (SIGKILL's status)
)
