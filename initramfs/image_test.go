package initramfs

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmmlab/vmm/internal/testkernel"
)

func fakeModules(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "lib/modules/6.1.0-test")
	files := []string{"kernel/drivers/virtio/virtio.ko", "kernel/drivers/virtio/virtio_ring.ko", "kernel/drivers/virtio/virtio_pci.ko",
		"kernel/drivers/block/virtio_blk.ko", "kernel/drivers/net/virtio_net.ko", "kernel/net/core/failover.ko"}
	for _, f := range files {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755)
		os.WriteFile(filepath.Join(dir, f), []byte(f), 0o644)
	}
	dep := `kernel/drivers/virtio/virtio.ko:
kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko
kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko
kernel/drivers/net/virtio_net.ko: kernel/net/core/failover.ko kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko
kernel/net/core/failover.ko:
`
	os.WriteFile(filepath.Join(dir, "modules.dep"), []byte(dep), 0o644)
	os.WriteFile(filepath.Join(dir, "modules.builtin"), []byte("kernel/drivers/virtio/virtio_mmio.ko\n"), 0o644)
	return dir
}

func TestCompose(t *testing.T) {
	dir := t.TempDir()
	init, work := filepath.Join(dir, "vmm-init"), filepath.Join(dir, "hello")
	testkernel.WriteELF(init, false)
	testkernel.WriteELF(work, false)
	var base Archive
	base.AddFile("bbin/bb", 0o755, []byte("bb"))
	base.AddSymlink("bin/sh", "../bbin/gosh")
	im := Image{Init: init, Workloads: []string{work}, ModulesFrom: fakeModules(t), Shell: true,
		Modules: []string{"virtio_pci", "virtio_mmio", "virtio_blk", "virtio_net"}}
	a, err := im.Compose(&base)
	if err != nil {
		t.Fatal(err)
	}
	paths := strings.Join(a.Paths(), " ")
	for _, want := range []string{"init", "bin/hello", "bbin/bb", "bin/sh", "dev/console", "etc/vmm/shell",
		"lib/modules/6.1.0-test/kernel/drivers/net/virtio_net.ko"} {
		if !strings.Contains(" "+paths+" ", " "+want+" ") {
			t.Errorf("image lacks %s", want)
		}
	}
	if len(base.Paths()) != 4 { // bbin, bbin/bb, bin, bin/sh
		t.Errorf("Compose modified its base: %q", base.Paths())
	}
	list := string(a.entries["etc/vmm/modules"].data)
	want := `/lib/modules/6.1.0-test/kernel/drivers/virtio/virtio_ring.ko
/lib/modules/6.1.0-test/kernel/drivers/virtio/virtio.ko
/lib/modules/6.1.0-test/kernel/drivers/virtio/virtio_pci.ko
/lib/modules/6.1.0-test/kernel/drivers/block/virtio_blk.ko
/lib/modules/6.1.0-test/kernel/net/core/failover.ko
/lib/modules/6.1.0-test/kernel/drivers/net/virtio_net.ko
`
	if list != want { // virtio_mmio is built in: not listed
		t.Errorf("module list:\n%s\nwant:\n%s", list, want)
	}
}

func TestComposeErrors(t *testing.T) {
	dir := t.TempDir()
	init, dyn := filepath.Join(dir, "vmm-init"), filepath.Join(dir, "dyn")
	testkernel.WriteELF(init, false)
	testkernel.WriteELF(dyn, true)
	cases := map[string]Image{
		"missing init":     {Init: filepath.Join(dir, "nope")},
		"missing workload": {Init: init, Workloads: []string{filepath.Join(dir, "nope")}},
		"dynamic workload": {Init: init, Workloads: []string{dyn}},
		"script workload":  {Init: init, Workloads: []string{"/etc/hostname"}},
		"bad modules dir":  {Init: init, ModulesFrom: filepath.Join(dir, "nope")},
	}
	for name, im := range cases {
		if _, err := im.Compose(&Archive{}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// The whole pipeline (mkuimage's u-root build, then Compose and gzip) gives
// byte-identical images for identical inputs. It runs the real build, which
// needs the Go toolchain and the module proxy (or a warm module cache).
func TestImageReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the u-root userland twice (about a minute); run without -short")
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	init := filepath.Join(dir, "vmm-init")
	testkernel.WriteELF(init, false)
	var images [2][]byte
	for i := range images {
		start := time.Now()
		base, err := buildURoot(context.Background(), filepath.Join(cache, "vmm"), io.Discard, false) // never the cached archive
		if err != nil {
			t.Fatal(err)
		}
		a, err := Image{Init: init}.Compose(base)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := a.WriteGzip(&buf); err != nil {
			t.Fatal(err)
		}
		images[i] = buf.Bytes()
		if _, ok := a.entries["bbin/gosh"]; !ok {
			t.Fatal("u-root build lacks gosh")
		}
		t.Logf("build %d: %v, %.1f MiB gzip, %d entries", i+1, time.Since(start).Round(100*time.Millisecond),
			float64(buf.Len())/(1<<20), len(a.Paths()))
	}
	if !bytes.Equal(images[0], images[1]) {
		t.Fatal("two builds of the same image differ")
	}
}
