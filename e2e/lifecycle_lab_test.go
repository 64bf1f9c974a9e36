package e2e

import (
	"github.com/vmmlab/vmm/lab/labenv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmmlab/vmm/internal/kvmtest"
	"github.com/vmmlab/vmm/internal/testkernel"
)

func writeKernel(t *testing.T, code []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "bzImage")
	if err := os.WriteFile(p, testkernel.BzImage(code, 0), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// SIGTERM stops a running guest cleanly: exit 130 and a one-line reason.
func TestSignalStopsVM(t *testing.T) {
	kvmtest.Open(t)
	vmm := kvmtest.File(t, labenv.EnvVMM)
	cmd := exec.Command(vmm, "boot", "--kernel", writeKernel(t, testkernel.Spin), "--mem", "64M")
	errb := &watchBuffer{} // read here while vmm writes it
	cmd.Stderr = errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(errb.String(), "machine ready") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		t.Fatalf("vmm ignored SIGTERM; stderr:\n%s", errb.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != 130 || !strings.Contains(errb.String(), "interrupted") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
}

// A triple fault ends vmm with status 1 and a register dump.
func TestTripleFaultExit(t *testing.T) {
	kvmtest.Open(t)
	vmm := kvmtest.File(t, labenv.EnvVMM)
	out, err := exec.Command(vmm, "boot", "--kernel", writeKernel(t, testkernel.UD2), "--mem", "64M").CombinedOutput()
	code := -1
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	if code != 1 || !strings.Contains(string(out), "triple-faulted") || !strings.Contains(string(out), "rip ") {
		t.Fatalf("exit %d (%v), output:\n%s", code, err, out)
	}
}
