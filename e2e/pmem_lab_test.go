package e2e

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vmmlab/vmm/guestinit"
	"github.com/vmmlab/vmm/internal/kvmtest"
	"github.com/vmmlab/vmm/internal/rootdisk"
	"github.com/vmmlab/vmm/lab/labenv"
	"github.com/vmmlab/vmm/memory"
)

// pmemData is the file the guests read: large beside what an idle guest
// caches, small beside their RAM.
const pmemData = 24 << 20

// Two VMs read one file through virtio-pmem and a DAX mount: both get
// its bytes, neither guest's page cache grows by it, and the host holds
// it once, in its page cache, mapped by both (each vmm's share of it is
// about half). A VM reading the same image through virtio-blk caches a
// copy of its own. A writable --pmem of a file other VMs map is refused.
func TestPmemSharesOneCopy(t *testing.T) {
	l := kernelOnly(t)
	tr := startKVMTrace(t)
	micro := kvmtest.File(t, labenv.EnvMicroKernel)
	image := kvmtest.File(t, labenv.EnvWorkloadInitramfs)
	img, sum := pmemImage(t)

	boot := func(task guestinit.Task, attach ...string) *vmmProc {
		args := append([]string{"boot", "--kernel", micro, "--virtio", "mmio", "--initrd", image, "--mem", "128M", "--thp", "off",
			"--cmdline", withTask(task)}, attach...)
		// the whole line: the console comes a byte an exit, slowly on a busy host
		return startRetried(t, tr, l.vmm, nil, func(p *vmmProc) bool {
			return p.until(4*time.Minute, 100*time.Millisecond, func() bool { return readFileLine.MatchString(p.console.String()) })
		}, args...)
	}
	readTask := func(dev, opts string) guestinit.Task {
		return guestinit.Task{Run: "/bin/testworkload", Args: []string{"readfile", "/data/data"},
			Mounts: []guestinit.Mount{{Source: dev, Target: "/data", Options: opts}}}
	}
	var vms []*vmmProc
	for range 2 {
		vms = append(vms, boot(readTask("/dev/pmem0", "ro,dax"), "--pmem", img+",ro"))
	}
	for i, vm := range vms {
		n, hash, cached := readLine(t, vm)
		if n != pmemData || hash != sum {
			t.Errorf("VM %d read %d bytes, SHA-256 %s; the file has %d, %s", i, n, hash, pmemData, sum)
		}
		if cached > pmemData/4>>10 {
			t.Errorf("VM %d: its page cache grew by %d KiB reading %d KiB through DAX", i, cached, pmemData>>10)
		}
		file := mappingKiB(t, vm, img)
		t.Logf("pmem VM %d: page cache +%d KiB; the pmem file mapped: RSS %d KiB, PSS %d KiB", i, cached, file.rss, file.pss)
		if file.rss < pmemData>>10 || file.pss > file.rss*6/10 {
			t.Errorf("VM %d maps %d KiB of the file (PSS %d KiB): want the %d KiB it read, shared by both VMs", i, file.rss, file.pss, pmemData>>10)
		}
	}
	if resident := residentKiB(t, img); resident < pmemData>>10 {
		t.Errorf("the host's page cache holds %d KiB of the image, want at least the %d KiB read", resident, pmemData>>10)
	}

	r := l.boot(t, input{limit: time.Minute}, "--kernel", micro, "--initrd", "none", "--pmem", img, "--cmdline", "console=ttyS0")
	if r.code == 0 || !strings.Contains(r.stderr, "in use by another VM") || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
		t.Errorf("a writable --pmem of a file two VMs map: exit %d, stderr %q; want one line saying it is in use", r.code, r.stderr)
	}

	blk := boot(readTask("/dev/vda", ""), "--disk", img+",ro")
	n, hash, cached := readLine(t, blk)
	if n != pmemData || hash != sum || cached < pmemData*3/4>>10 {
		t.Errorf("through virtio-blk: %d bytes, SHA-256 %s, page cache +%d KiB; want the file, cached in the guest", n, hash, cached)
	}
	t.Logf("blk VM: page cache +%d KiB", cached)
}

// pmemImage makes an ext4 image (4 KiB blocks, whole 2 MiB: fit for
// DAX) holding /data, pmemData pseudo-random bytes, and drops it from the
// host's page cache. It returns the image and the data's SHA-256.
func pmemImage(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	tree := filepath.Join(dir, "tree")
	os.Mkdir(tree, 0o755)
	data := make([]byte, pmemData)
	r := rand.NewChaCha8([32]byte{'v', 'm', 'm'})
	r.Read(data)
	if err := os.WriteFile(filepath.Join(tree, "data"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(dir, "data.ext4")
	if err := rootdisk.Make(context.Background(), tree, img); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		t.Fatal(err)
	}
	return img, fmt.Sprintf("%x", sha256.Sum256(data))
}

// readFileLine is the guest's "readfile" report, up to its line's end.
var readFileLine = regexp.MustCompile(`READFILE (\d+) ([0-9a-f]{64}) (-?\d+)\r?\n`)

// readLine is what the guest's "readfile" printed: bytes, SHA-256, and
// its page cache's growth in KiB.
func readLine(t *testing.T, p *vmmProc) (n int64, hash string, cachedKiB int64) {
	t.Helper()
	m := readFileLine.FindStringSubmatch(p.console.String())
	if m == nil {
		t.Fatalf("no READFILE line: %s", p.tail())
	}
	n, _ = strconv.ParseInt(m[1], 10, 64)
	cachedKiB, _ = strconv.ParseInt(m[3], 10, 64)
	return n, m[2], cachedKiB
}

type smapsKiB struct{ rss, pss int64 }

// mappingKiB sums the Rss and Pss of vmm's mappings of the file name.
func mappingKiB(t *testing.T, p *vmmProc, name string) smapsKiB {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps", p.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	var sum smapsKiB
	in := false
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) >= 5 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":"):
			in = len(f) >= 6 && strings.Join(f[5:], " ") == name
		case in && len(f) == 3 && f[0] == "Rss:":
			v, _ := strconv.ParseInt(f[1], 10, 64)
			sum.rss += v
		case in && len(f) == 3 && f[0] == "Pss:":
			v, _ := strconv.ParseInt(f[1], 10, 64)
			sum.pss += v
		}
	}
	return sum
}

// residentKiB is how much of file path the host's page cache holds.
func residentKiB(t *testing.T, path string) int64 {
	t.Helper()
	w, err := memory.OpenWindow(path, true)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	n, err := w.Cached()
	if err != nil {
		t.Fatal(err)
	}
	return int64(n >> 10)
}
