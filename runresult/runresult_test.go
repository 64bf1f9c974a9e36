package runresult

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// golden is a Result with every field set.
func golden() Result {
	status := 7
	return Result{Reason: PowerOff, Cause: CauseTripleFault, Detail: "guest powered off", ExitCode: 7, StartNS: 1, SetupMS: 2, FirstRun: 3, InputsMS: 4,
		Steps: map[string]float64{"kvm": 5}, Exits: map[string]uint64{"io 0x3f8": 6}, RunMS: 8, Booted: true, BootMS: 9,
		Restored: true, Unhandled: 10, Status: &status, Registers: "vCPU 0 registers", VCPUs: []VCPU{{0, 23, 24, true}}, Dropped: 11, Failures: []string{"virtio-rng: x"},
		Devices: map[string]map[string]uint64{"virtio-rng": {"bytes": 12}}, GoMemory: GoMemory{13, 14, 15, 16, 17}, HostProblem: "kvm_pvm",
		RunFaults: 25, WorkingSet: &WorkingSet{"on", 26, 27, 28, 29, "none"},
		Trace: &Trace{Exits: []ExitStat{{"io 0x3f8", "serial", 18, 19}}, KVM: &KVMStats{map[string]uint64{"a": 20}, map[string]uint64{"b": 21}}, CoalescedWrites: 22}}
}

// What vmm prints keeps its names: the golden file is the format other
// programs (and people's scripts) read.
func TestGoldenResult(t *testing.T) {
	for name, v := range map[string]any{"testdata/result.json": golden(),
		"testdata/snapshot.json": SnapshotTaken{Snapshot, "/snap", 1, 2, 3, 4, 5}} {
		got, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if *update {
			os.WriteFile(name, append(got, '\n'), 0o644)
		}
		want, err := os.ReadFile(name)
		if err != nil || string(want) != string(got)+"\n" {
			t.Errorf("%s changed (go test -update after a deliberate format change):\n%s", name, got)
		}
	}
}

func TestParse(t *testing.T) {
	line, _ := json.Marshal(golden())
	r, err := Parse(append([]byte("vmm: machine ready\nvmm: a warning\n"), append(line, '\n', '\n')...))
	if err != nil || r.String() != string(line) {
		t.Fatalf("Parse: %v\n%s\nwant\n%s", err, r, line)
	}
	for _, bad := range []string{"", "vmm: no kernel\n", "{not json\n"} {
		if _, err := Parse([]byte(bad)); !errors.Is(err, ErrNoResult) {
			t.Errorf("Parse(%q): %v, want ErrNoResult", bad, err)
		}
	}
}

// Find picks every result out of mixed output: lines around them, two
// runs, a result inside a line of other text (as the bench joins a
// failed run's last lines), a truncated one skipped.
func TestFind(t *testing.T) {
	a, _ := json.Marshal(Result{Reason: Crashed, Cause: CauseTripleFault})
	b, _ := json.Marshal(Result{Reason: Interrupted, VCPUs: []VCPU{{ID: 1, TopTableOutsideRAM: true}}})
	out := "console\nvmm: machine ready\n" + string(a) + "\ninstance 3: exit 1: x | y | " + string(b) + " | z\n" + string(a[:20])
	rs := Find([]byte(out))
	if len(rs) != 2 || rs[0].Cause != CauseTripleFault || len(rs[1].VCPUs) != 1 || !rs[1].VCPUs[0].TopTableOutsideRAM {
		t.Fatalf("Find: %+v", rs)
	}
	if len(Find([]byte("no result here"))) != 0 {
		t.Fatal("a result found where there is none")
	}
}

// FuzzFind: no output makes Find panic.
func FuzzFind(f *testing.F) {
	a, _ := json.Marshal(golden())
	f.Add(a)
	f.Add([]byte(`{"reason":{"reason":"x"}}`))
	f.Fuzz(func(t *testing.T, b []byte) { Find(b) })
}
