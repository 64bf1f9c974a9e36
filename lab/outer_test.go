package lab

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vmmlab/vmm/lab/labenv"
	"github.com/vmmlab/vmm/lab/labproto"

	"github.com/vmmlab/vmm/internal/testkernel"
)

func writeELF(t *testing.T, p string, dynamic bool) {
	t.Helper()
	if err := testkernel.WriteELF(p, dynamic); err != nil {
		t.Fatal(err)
	}
}

func fakeKernel(t *testing.T) Kernel {
	t.Helper()
	mods := filepath.Join(t.TempDir(), "lib/modules/6.1.0-test")
	for _, f := range []string{"kernel/arch/x86/kvm/kvm.ko", "kernel/arch/x86/kvm/kvm-amd.ko"} {
		os.MkdirAll(filepath.Dir(filepath.Join(mods, f)), 0o755)
		os.WriteFile(filepath.Join(mods, f), []byte("module "+f), 0o644)
	}
	dep := "kernel/arch/x86/kvm/kvm-amd.ko: kernel/arch/x86/kvm/kvm.ko\nkernel/arch/x86/kvm/kvm.ko:\n"
	os.WriteFile(filepath.Join(mods, "modules.dep"), []byte(dep), 0o644)
	return Kernel{Version: "6.1.0-test", ModulesDir: mods}
}

func TestOuterImage(t *testing.T) {
	dir := t.TempDir()
	bb, test := filepath.Join(dir, "busybox"), filepath.Join(dir, "kvm.test")
	writeELF(t, bb, false)
	writeELF(t, test, false)
	o := Outer{Busybox: bb, Kernel: fakeKernel(t), Modules: []string{"kvm_amd"},
		ModuleParams: map[string]string{"kvm": "nx_huge_pages=never"},
		Runs:         map[string]string{"kvm.test": "^(TestA)$"},
		Tests:        map[string]string{"kvm.test": test}, Env: map[string]string{labenv.EnvKernel: "/lab/bzImage"},
		TestTimeoutSeconds: 60}
	var buf bytes.Buffer
	if err := o.Write(&buf); err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(zr)
	s := string(raw)
	for _, want := range []string{"bin/busybox", "init", "dev/console", "lab/tests/kvm.test",
		"lab/mod/kvm.ko", "lab/mod/kvm_amd.ko", "kvm.ko nx_huge_pages=never\nkvm_amd.ko\n", "export VMM_LAB='1'",
		"export VMM_LAB_KERNEL='/lab/bzImage'", "export LAB_TEST_TIMEOUT='60'", "ev lab-end", "lab/runs/kvm.test", "^(TestA)$"} {
		if !strings.Contains(s, want) {
			t.Errorf("outer image lacks %q", want)
		}
	}

	dyn := filepath.Join(dir, "dyn.test")
	writeELF(t, dyn, true)
	o.Tests = map[string]string{"dyn.test": dyn}
	if err := o.Write(io.Discard); err == nil || !strings.Contains(err.Error(), "dynamically linked") {
		t.Errorf("dynamic test binary: %v", err)
	}
	o.Tests = nil
	o.ModuleParams = map[string]string{"kvm": "a=1; reboot"}
	if err := o.Write(io.Discard); err == nil {
		t.Error("module parameters with shell syntax accepted")
	}
	o.ModuleParams = nil
	o.Env = map[string]string{"BAD": "it's"}
	if err := o.Write(io.Discard); err == nil {
		t.Error("unquotable environment value accepted")
	}
}

// The outer init sends only labproto's actions, and every one of them
// but the stall, which cmd/testwatch sends.
func TestOuterInitSpeaksTheProtocol(t *testing.T) {
	sent := map[string]bool{}
	for _, a := range regexp.MustCompile(`\blab-[a-z]+`).FindAllString(string(outerInit), -1) {
		sent[a] = true
	}
	for a := range sent {
		if !slices.Contains(labproto.Actions(), a) {
			t.Errorf("outer-init.sh sends %s, which is not in package labproto", a)
		}
	}
	for _, a := range labproto.Actions() {
		if !sent[a] && a != labproto.Stall {
			t.Errorf("labproto's %s is sent by nobody", a)
		}
	}
	if strings.Contains(string(outerInit), "LAB-") {
		t.Error("outer-init.sh still prints console markers")
	}
}
