package machine

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmmlab/vmm/snapshot"
	"github.com/vmmlab/vmm/snapshot/snapshottest"
)

// noKVM is a device node that does not exist: a restore that gets as far
// as opening KVM fails there, so what fails before it is validation.
const noKVM = "/nonexistent/kvm"

// writeSnapshot writes a snapshot directory (without memory) whose
// manifest describes machine c, and returns it.
func writeSnapshot(t testing.TB, c snapshot.Config) string {
	dir := t.TempDir()
	snapshottest.Write(t, dir, c)
	return dir
}

// disk makes a disk file of size bytes.
func disk(t testing.TB, size int64) string {
	p := filepath.Join(t.TempDir(), "disk")
	if err := os.WriteFile(p, make([]byte, size), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// A virtio-mmio snapshot with more devices than the layout has slots is
// refused as New refuses it (it panicked with an index out of range).
func TestRestoreValidatesTheMachine(t *testing.T) {
	var had []snapshot.Disk
	var given []Disk
	for range 9 {
		had = append(had, snapshot.Disk{Path: "/dev/null", Size: 4096})
		given = append(given, Disk{Path: disk(t, 4096)})
	}
	for _, c := range []struct {
		sc   snapshot.Config
		want string
	}{
		{snapshot.Config{CPUs: 1, MemSize: 64 << 20, VirtioMMIO: true, Disks: had}, "virtio-mmio devices: at most"},
		{snapshot.Config{CPUs: 1, MemSize: 64<<20 + 12, Disks: had}, "memory size"},
	} {
		dir := writeSnapshot(t, c.sc)
		_, err := Restore(dir, RestoreConfig{Device: noKVM, Disks: given})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.sc, err, c.want)
		}
	}
}

// A snapshot never chooses the host files its guest gets: the disks come
// from the restore, one for each the guest had, of the same size and
// read-only flag; anything else is ErrRestoreMismatch.
func TestRestoreDisksComeFromTheCommandLine(t *testing.T) {
	had := []snapshot.Disk{{Path: "/etc/shadow", Size: 8192, ReadOnly: true}, {Path: "/dev/sda", Size: 4096}}
	ok := []Disk{{Path: disk(t, 8192), ReadOnly: true}, {Path: disk(t, 4096)}}
	sc := snapshot.Config{CPUs: 1, MemSize: 64 << 20, Disks: had}
	c, err := restoredConfig(sc, RestoreConfig{Disks: ok})
	if err != nil || len(c.Disks) != 2 || c.Disks[0] != ok[0] || c.Disks[1] != ok[1] {
		t.Fatalf("the disks given: %+v %v", c.Disks, err)
	}
	for name, disks := range map[string][]Disk{
		"none":         nil,
		"one too few":  ok[:1],
		"one too many": append(append([]Disk{}, ok...), ok[1]),
		"another size": {ok[0], {Path: disk(t, 8192)}},
		"not ro":       {{Path: ok[0].Path}, ok[1]},
		"ro":           {ok[0], {Path: ok[1].Path, ReadOnly: true}},
		"missing":      {ok[0], {Path: "/nonexistent/disk"}},
	} {
		_, err := Restore(writeSnapshot(t, sc), RestoreConfig{Device: noKVM, Disks: disks})
		if !errors.Is(err, ErrRestoreMismatch) {
			t.Errorf("%s: %v, want ErrRestoreMismatch", name, err)
		}
	}
}

// FuzzRestoreFiles: no manifest or state makes a restore panic before
// KVM is opened (what runs after it needs /dev/kvm: the lab).
func FuzzRestoreFiles(f *testing.F) {
	seed := writeSnapshot(f, snapshot.Config{CPUs: 1, MemSize: 64 << 20, VirtioMMIO: true, Disks: []snapshot.Disk{{Size: 4096}}})
	man, _ := os.ReadFile(filepath.Join(seed, snapshot.ManifestFile))
	st, _ := os.ReadFile(filepath.Join(seed, snapshot.StateFile))
	f.Add(man, st)
	var m map[string]any
	json.Unmarshal(man, &m)
	m["machine"].(map[string]any)["disks"] = make([]any, 20)
	many, _ := json.Marshal(m)
	f.Add(many, st)
	d := disk(f, 4096)
	f.Fuzz(func(t *testing.T, man, st []byte) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, snapshot.ManifestFile), man, 0o600)
		os.WriteFile(filepath.Join(dir, snapshot.StateFile), st, 0o600)
		if _, err := Restore(dir, RestoreConfig{Device: noKVM, Disks: []Disk{{Path: d}}}); err == nil {
			t.Fatal("a restore without a memory file or KVM succeeded")
		}
	})
}

// A memory file others may write is refused: the restored guest's RAM
// maps it for as long as it runs.
func TestRestoreRefusesASharedMemoryFile(t *testing.T) {
	dir := writeSnapshot(t, snapshot.Config{CPUs: 1, MemSize: 64 << 20})
	mem := filepath.Join(dir, snapshot.MemoryFile)
	if err := os.WriteFile(mem, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Truncate(mem, 64<<20)
	os.Chmod(mem, 0o666)
	if _, err := Restore(dir, RestoreConfig{Device: noKVM}); err == nil || !strings.Contains(err.Error(), "writable by others") {
		t.Fatalf("a memory file of mode 0666: %v", err)
	}
}

// A restore matches the snapshot's virtio devices by kind and index: a
// clone's disk at another path is the same device (matched by display
// name, which holds the path, it was refused), another list is not.
func TestRestoreMatchesDevicesByKindAndIndex(t *testing.T) {
	ids := func(c Config) []snapshot.Device {
		var out []snapshot.Device
		for _, s := range c.virtioDevices() {
			out = append(out, s.id)
		}
		return out
	}
	transports := func(c Config) []snapshot.VirtioTransport {
		var out []snapshot.VirtioTransport
		for _, id := range ids(c) {
			out = append(out, snapshot.VirtioTransport{Device: id})
		}
		return out
	}
	taken := Config{Disks: []Disk{{Path: "/snapshots/root.ext4"}}, NICs: []NIC{{}}, RNG: &RNG{}}
	clone := Config{Disks: []Disk{{Path: "/clones/7/root.ext4"}}, NICs: []NIC{{}}, RNG: &RNG{}}
	if err := matchDevices(transports(taken), ids(clone)); err != nil {
		t.Fatalf("a clone with its own copy of the disk: %v", err)
	}
	for name, other := range map[string]Config{
		"no rng":     {Disks: clone.Disks, NICs: clone.NICs},
		"two disks":  {Disks: append(clone.Disks, Disk{Path: "/x"}), NICs: clone.NICs, RNG: &RNG{}},
		"no network": {Disks: clone.Disks, RNG: &RNG{}},
	} {
		if err := matchDevices(transports(taken), ids(other)); err == nil {
			t.Errorf("%s: matched", name)
		}
	}
}
