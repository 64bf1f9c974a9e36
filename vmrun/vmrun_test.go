package vmrun

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/vmmlab/vmm/guestinit"
	"github.com/vmmlab/vmm/initramfs"
)

func testProcess() specs.Process {
	return specs.Process{Args: []string{"/bin/sh", "-c", "exit 7"}, Cwd: "/", Env: []string{"PATH=/bin"}, User: specs.User{UID: 1, GID: 2}}
}

// The run's initramfs is the base, copied as it is and padded to four
// bytes, then a newc segment with the process: what the kernel unpacks
// in turn.
func TestWriteInitrdAppendsToBase(t *testing.T) {
	dir := t.TempDir()
	var gz bytes.Buffer
	base := &initramfs.Archive{}
	base.AddFile("init", 0o755, []byte("the base's init"))
	if err := base.WriteGzip(&gz); err != nil {
		t.Fatal(err)
	}
	gz.WriteString("x") // an odd length, to be padded
	basePath := filepath.Join(dir, "base.cpio.gz")
	os.WriteFile(basePath, gz.Bytes(), 0o644)
	out := filepath.Join(dir, "run.cpio")
	if err := writeInitrd(out, Config{Initrd: basePath, Process: testProcess()}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(out)
	if !bytes.HasPrefix(b, gz.Bytes()) {
		t.Fatal("the base is not copied as it is")
	}
	off := (gz.Len() + 3) &^ 3
	if !bytes.Equal(b[gz.Len():off], make([]byte, off-gz.Len())) {
		t.Fatalf("padding %q", b[gz.Len():off])
	}
	seg := &initramfs.Archive{}
	if err := initramfs.ReadNewc(bytes.NewReader(b[off:]), seg); err != nil {
		t.Fatal(err)
	}
	checkProcessIn(t, seg)
	if slices.Contains(seg.Paths(), "init") {
		t.Error("the segment carries an init over the base's")
	}
	if err := writeInitrd(out, Config{Initrd: basePath, Process: testProcess()}); err == nil {
		t.Error("an existing file was overwritten")
	}
}

// Without a base, the run's initramfs holds vmm-init as /init beside
// the process (the minimal kernel needs nothing else).
func TestWriteInitrdWithInit(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "not-elf")
	os.WriteFile(bad, []byte("not an ELF"), 0o755)
	if err := writeInitrd(filepath.Join(dir, "a.cpio"), Config{VMMInit: bad, Process: testProcess()}); err == nil {
		t.Fatal("an init that is not a static program was taken")
	}
	init := filepath.Join(dir, "vmm-init")
	build := exec.Command("go", "build", "-o", init, "github.com/vmmlab/vmm/cmd/vmm-init")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build vmm-init: %v: %s", err, out)
	}
	out := filepath.Join(dir, "b.cpio")
	if err := writeInitrd(out, Config{VMMInit: init, Process: testProcess()}); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(out)
	defer f.Close()
	a := &initramfs.Archive{}
	if err := initramfs.ReadNewc(f, a); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(a.Paths(), "init") || !slices.Contains(a.Paths(), "dev/console") {
		t.Errorf("paths %v", a.Paths())
	}
	checkProcessIn(t, a)
}

func checkProcessIn(t *testing.T, a *initramfs.Archive) {
	t.Helper()
	x := t.TempDir()
	if err := a.ExtractTo(x); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(x, guestinit.ProcessFile))
	if err != nil {
		t.Fatal(err)
	}
	var p specs.Process
	if err := json.Unmarshal(b, &p); err != nil || !reflect.DeepEqual(p, testProcess()) {
		t.Fatalf("process %+v, %v", p, err)
	}
}

// The host writes a runtime-spec Process; the guest's init reads its
// own subset of that JSON. Every field the init uses survives the seam,
// and the fields it does not use do not stop it.
func TestProcessSeam(t *testing.T) {
	p := specs.Process{Args: []string{"redis-server", "--port", "6379"}, Cwd: "/data", Env: []string{"PATH=/usr/bin", "A=b=c"},
		User: specs.User{UID: 999, GID: 998, AdditionalGids: []uint32{4}}, Terminal: true,
		Capabilities: &specs.LinuxCapabilities{Bounding: []string{"CAP_CHOWN"}}, Rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024}}}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	g, err := guestinit.ParseProcess(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g.Args, p.Args) || g.Cwd != p.Cwd || !reflect.DeepEqual(g.Env, p.Env) || g.Terminal != p.Terminal ||
		g.User.UID != p.User.UID || g.User.GID != p.User.GID || !reflect.DeepEqual(g.User.AdditionalGids, p.User.AdditionalGids) {
		t.Fatalf("guest reads %+v from %s", g, b)
	}
}
