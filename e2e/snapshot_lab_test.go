package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmmlab/vmm/api/apiclient"
	"github.com/vmmlab/vmm/guestinit"
	"github.com/vmmlab/vmm/internal/kvmtest"
	"github.com/vmmlab/vmm/lab/labenv"
)

// A guest counting on its console and serving its count over TCP (the
// minimal kernel, virtio-mmio, virtio-net) is snapshotted through the
// control API and restored twice at once, each clone on a new tap in a
// network namespace of its own: both go on counting from the snapshot's
// value, their clocks move forward, both answer over TCP, and each costs
// the host less memory than the cold-booted VM did. A corrupt snapshot is
// refused with one line and exit 1.
func TestSnapshotRestore(t *testing.T) {
	l := kernelOnly(t)
	tr := startKVMTrace(t)
	micro := kvmtest.File(t, labenv.EnvMicroKernel)
	image := kvmtest.File(t, labenv.EnvWorkloadInitramfs)
	dir := t.TempDir()
	sock, snap := filepath.Join(dir, "api.sock"), filepath.Join(dir, "snap")
	coldNet := newGuestNet(t, "vmmsnap0")
	var coldReady time.Duration
	cold := startRetried(t, tr, l.vmm, &coldNet, func(p *vmmProc) bool {
		coldReady = p.waitCountOrZero(1, 3*time.Minute)
		return coldReady != 0
	}, "boot", "--kernel", micro, "--virtio", "mmio", "--initrd", image, "--mem", "128M",
		"--net", "fd=3", "--api-sock", sock, "--cmdline", withTask(guestinit.Task{Run: "/bin/testworkload", Args: []string{"count", "200"},
			IP: netip.MustParsePrefix(guestAddr + "/24"), GW: netip.MustParseAddr(hostAddr)}))
	cold.waitCount(t, 5, time.Minute)
	if page, err := coldNet.get("/"); err != nil || !strings.HasPrefix(page, "count ") {
		t.Fatalf("the cold-booted guest over TCP: %q, %v", page, err)
	}
	// Linux's vmgenid driver took vmm's VM generation ID device; nothing
	// has changed the ID yet.
	if gen, err := coldNet.get("/vmgenid"); err != nil || !strings.Contains(gen, "bound VMGENCTR") || !strings.Contains(gen, "ged 0\n") {
		t.Errorf("the cold-booted guest's VM generation ID: %q, %v", gen, err)
	}
	coldPSS := cold.pssKiB()
	var before, beforeClock []int64
	info := cold.pauseAndSnapshot(t, sock, snap, func() { before, beforeClock = cold.counts() })
	t.Logf("snapshot of a 128 MiB guest: pause %.1f ms, state %.1f ms, memory %.1f ms (%d MiB written), total %.1f ms (lab time)",
		info.PauseMS, info.StateMS, info.MemoryMS, info.MemoryBytes>>20, info.TotalMS)
	cold.stop()

	nets := []guestNet{newGuestNet(t, "vmmsnap1"), newGuestNet(t, "vmmsnap2")}
	var clones []*vmmProc
	for i := range nets {
		clones = append(clones, startVMM(t, l.vmm, &nets[i], "restore", snap, "--net", "fd=3", "--json"))
	}
	// Both clones run at once: each one's time to its third COUNT line is
	// taken while waiting for both, not when the test gets round to it.
	readies := make([]time.Duration, len(clones))
	var wg sync.WaitGroup
	for i, c := range clones {
		wg.Add(1)
		go func() { defer wg.Done(); readies[i] = c.waitCountOrZero(3, 3*time.Minute) }()
	}
	wg.Wait()
	randoms := map[string]int{}
	for i, c := range clones {
		failed := t.Failed()
		ready := readies[i]
		if ready == 0 {
			events := tr.threadTail(c.cmd.Process.Pid, 40) // while it runs: its threads name its events
			t.Fatalf("clone %d printed no 3 COUNT lines in 3 minutes; its last KVM events:\n%s\n%s", i, events, c.tail())
		}
		// Each clone got a new VM generation ID and reseeded its random
		// number generator: the two draw different bytes.
		gen := nets[i].waitGED(t, fmt.Sprintf("clone %d", i))
		if r, err := nets[i].get("/random"); err != nil || len(strings.TrimSpace(r)) != 32 {
			t.Errorf("clone %d: /random: %q, %v", i, r, err)
		} else if j, seen := randoms[r]; seen {
			t.Errorf("clones %d and %d drew the same random bytes %s after the restore: their RNG state is cloned", j, i, strings.TrimSpace(r))
		} else {
			randoms[r] = i
			t.Logf("clone %d: %s; random %s", i, strings.ReplaceAll(strings.TrimSpace(gen), "\n", ", "), strings.TrimSpace(r))
		}
		checkGoesOn(t, fmt.Sprintf("clone %d", i), c, before[len(before)-1], beforeClock[len(beforeClock)-1])
		page, err := nets[i].get("/")
		if err != nil || !strings.HasPrefix(page, "count ") {
			t.Errorf("clone %d over TCP on its new tap: %q, %v", i, page, err)
		}
		t.Logf("clone %d: first COUNT line %v after launch (cold boot: %v, ratio %.2f); answers %q over TCP; PSS %d KiB (cold VM %d KiB, ratio %.2f)",
			i, ready.Round(time.Millisecond), coldReady.Round(time.Millisecond), float64(ready)/float64(coldReady),
			strings.TrimSpace(page), c.pssKiB(), coldPSS, float64(c.pssKiB())/float64(coldPSS))
		if !failed && t.Failed() {
			t.Logf("clone %d: %s", i, c.tail())
		}
	}
	for i, c := range clones {
		c.stop()
		if !strings.Contains(c.stderr.String(), `"restored":true`) {
			t.Errorf("clone %d: its --json result does not say it was restored: %s", i, c.stderr.String())
		}
	}

	// A truncated state file: one line, exit 1, no guest.
	bad := filepath.Join(dir, "bad")
	os.MkdirAll(bad, 0o755)
	for _, f := range []string{"manifest.json", "state.json", "memory"} {
		b, _ := os.ReadFile(filepath.Join(snap, f))
		if f == "state.json" {
			b = b[:len(b)/2]
		}
		os.WriteFile(filepath.Join(bad, f), b, 0o600)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, l.vmm, "restore", bad).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || strings.Count(strings.TrimSpace(string(out)), "\n") != 0 {
		t.Errorf("restore of a truncated snapshot: %v\n%s", err, out)
	}
	t.Logf("a truncated snapshot: %s", strings.TrimSpace(string(out)))
	memoryFileChangedUnderClone(t, l.vmm, &nets[0], snap)
}

// memoryFileChangedUnderClone truncates the memory file of snapshot snap
// under a clone that runs from it: the clone stops with reason
// snapshot-memory-changed, exit 1 and its registers, instead of dying of
// SIGBUS.
func memoryFileChangedUnderClone(t *testing.T, vmm string, net *guestNet, snap string) {
	clone := startVMM(t, vmm, net, "restore", snap, "--net", "fd=3", "--json")
	if clone.waitCountOrZero(3, 3*time.Minute) == 0 {
		t.Fatalf("the clone whose memory file is to change printed no 3 COUNT lines: %s", clone.tail())
	}
	if err := os.Truncate(filepath.Join(snap, "memory"), 0); err != nil {
		t.Fatal(err)
	}
	if !clone.exits(time.Minute) {
		t.Fatalf("the clone ran on for a minute after its memory file was truncated: %s", clone.tail())
	}
	var ee *exec.ExitError
	res := clone.stderr.String()
	if err := clone.wait(); !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(res, `"reason":"snapshot-memory-changed"`) || !strings.Contains(res, `"registers"`) {
		t.Errorf("the clone whose memory file was truncated: %v\n%s", err, res)
	}
	if i := strings.Index(res, `"detail":`); i >= 0 {
		t.Logf("the clone whose memory file was truncated ended: %.200s", res[i:])
	}
}

// The Debian kernel over virtio-pci (MSI-X) snapshots and restores too,
// with --snapshot-on-ready: vmm writes the snapshot when the guest has
// booted and exits 0; the restored guest then runs its workload.
func TestSnapshotOnReadyPCI(t *testing.T) {
	l := kernelOnly(t)
	image := kvmtest.File(t, labenv.EnvWorkloadInitramfs)
	snap := filepath.Join(t.TempDir(), "snap")
	tr := startKVMTrace(t)
	cold := startRetried(t, tr, l.vmm, nil, func(p *vmmProc) bool { return p.exits(4*time.Minute) && p.err == nil },
		"boot", "--kernel", l.kernel, "--initrd", image, "--mem", "256M", "--snapshot-on-ready", snap,
		"--cmdline", testWorkload("count", "200"))
	t.Logf("vmm boot --snapshot-on-ready: %s", strings.TrimSpace(cold.stderr.String()))
	// The vCPU parks at the boot-timer write that starts the workload:
	// none of the workload's lines (it prints COUNT 1 at once) is on this
	// console. A late pause let them print there, and a restored clone
	// that waits for the first (the bench's vm-restore) waited forever.
	if n, _ := cold.counts(); len(n) != 0 {
		t.Errorf("the workload ran before the snapshot (it counted %v):\n%s", n, cold.console.String())
	}
	r := startRetried(t, tr, l.vmm, nil, func(p *vmmProc) bool { return p.waitCountOrZero(3, 3*time.Minute) != 0 }, "restore", snap)
	if n, _ := r.counts(); n[0] != 1 {
		t.Errorf("the restored guest counts %v: its workload should start from 1 after the snapshot at boot", n)
	}
}

var ackedLine = regexp.MustCompile(`(?m)^ACKED (\d+)\r?$`)

// acked is the last record the guest said it wrote and fsynced (0: none).
func (p *vmmProc) acked() (first, last int) {
	acks := ackedRecords(p.console.String())
	if len(acks) == 0 {
		return 0, 0
	}
	return acks[0], acks[len(acks)-1]
}

// ackedRecords lists the records a console says were acknowledged, in
// the order it says so.
func ackedRecords(console string) []int {
	var acks []int
	for _, m := range ackedLine.FindAllStringSubmatch(console, -1) {
		n, _ := strconv.Atoi(m[1])
		acks = append(acks, n)
	}
	return acks
}

// nextAcked is the record acknowledged right after record n in acks (0:
// none, or n is not there).
func nextAcked(acks []int, n int) int {
	for i := 0; i+1 < len(acks); i++ {
		if acks[i] == n {
			return acks[i+1]
		}
	}
	return 0
}

// waitAcked waits until the guest acknowledged at least k records.
func (p *vmmProc) waitAcked(t *testing.T, k int) {
	t.Helper()
	if !p.ackedWithin(k, 3*time.Minute) {
		t.Fatalf("fewer than %d records acknowledged\n%s", k, p.tail())
	}
}

// ackedWithin says whether the guest acknowledged at least k records
// within limit, before vmm ended.
func (p *vmmProc) ackedWithin(k int, limit time.Duration) bool {
	return p.until(limit, 50*time.Millisecond, func() bool { first, last := p.acked(); return first > 0 && last-first+1 >= k })
}

// A guest appending fsynced records to its disk is paused, snapshotted
// and stopped; the restore writes on from the next record; after it is
// killed, a third boot finds every record either VM acknowledged intact:
// a snapshot under write load loses no acknowledged write.
func TestSnapshotUnderDiskWrites(t *testing.T) {
	l := kernelOnly(t)
	micro := kvmtest.File(t, labenv.EnvMicroKernel)
	image := kvmtest.File(t, labenv.EnvWorkloadInitramfs)
	disk := copyFile(t, kvmtest.File(t, labenv.EnvDisk))
	dir := t.TempDir()
	sock, snap := filepath.Join(dir, "api.sock"), filepath.Join(dir, "snap")
	bootArgs := func(mode string) []string {
		return []string{"boot", "--kernel", micro, "--virtio", "mmio", "--initrd", image, "--mem", "128M", "--disk", disk,
			"--cmdline", withTask(guestinit.Task{Run: "/bin/testworkload", Args: []string{mode, "0"}, Mounts: mountedAt("/mnt")})}
	}
	cold := startRetried(t, startKVMTrace(t), l.vmm, nil, func(p *vmmProc) bool { return p.ackedWithin(20, 3*time.Minute) },
		append(bootArgs("fsyncloop"), "--api-sock", sock)...)
	var coldLast int
	info := cold.pauseAndSnapshot(t, sock, snap, func() { _, coldLast = cold.acked() })
	apiclient.New(sock, time.Minute).Stop()
	cold.wait()
	if _, last := cold.acked(); last != coldLast {
		t.Fatalf("the paused guest acknowledged record %d after %d", last, coldLast)
	}

	restored := startVMM(t, l.vmm, nil, "restore", snap, "--disk", disk)
	restored.waitAcked(t, 20)
	restored.cmd.Process.Kill() // mid-write: only what was acknowledged must be there
	restored.wait()
	first, last := restored.acked()
	// The restored console goes on where the cold one stopped, which can
	// be mid-line ("ACKED 2" there, "2" here): read the two as one.
	if next := nextAcked(ackedRecords(cold.console.String()+restored.console.String()), coldLast); next != coldLast+1 {
		t.Errorf("the restored guest went on at record %d, the snapshot was taken after %d\ncold console's end: %q\nrestored console's start: %q",
			next, coldLast, lastBytes(cold.console.String(), 200), firstBytes(restored.console.String(), 200))
	}
	out := runVMMText(t, l.vmm, bootArgs("fsynccheck")...)
	m := regexp.MustCompile(`(?m)^RECORDS (\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("the check printed no RECORDS:\n%s", out)
	}
	if n, _ := strconv.Atoi(m[1]); n < last {
		t.Errorf("the disk holds %d intact records; %d were acknowledged (%d before the snapshot)", n, last, coldLast)
	} else {
		t.Logf("snapshot under disk writes (%.0f ms): %d records acknowledged before it, %d-%d after the restore; the disk holds %d intact", info.TotalMS, coldLast, first, last, n)
	}
}

// firstBytes and lastBytes are at most n bytes from either end of s.
func firstBytes(s string, n int) string { return s[:min(n, len(s))] }
func lastBytes(s string, n int) string  { return s[max(0, len(s)-n):] }
