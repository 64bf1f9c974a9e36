package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// kvmTrace records the outer kernel's KVM events (exits, injected
// exceptions and interrupts) in tracefs, so that a guest's triple fault
// can be seen with the exits that led to it, whichever VMM ran the guest.
type kvmTrace struct{ dir string }

// kvmEvents are the events the lab's init switches on (lab/outer-init.sh).
var kvmEvents = []string{"kvm_exit", "kvm_inj_exception", "kvm_inj_virq", "kvm_page_fault", "kvm_userspace_exit"}

// startKVMTrace empties the trace buffer. The lab's init switched the
// events on before any test ran and they stay on: switching tracepoints
// between tests (text patching on every CPU) once hung the emulated outer
// kernel. Outside the lab's init (a KVM host of one's own) they are
// switched on here, and left on.
func startKVMTrace(t *testing.T) *kvmTrace {
	t.Helper()
	dir := "/sys/kernel/tracing"
	if _, err := os.Stat(filepath.Join(dir, "trace")); err != nil {
		os.MkdirAll(dir, 0o755)
		if out, err := exec.Command("mount", "-t", "tracefs", "tracefs", dir).CombinedOutput(); err != nil {
			t.Fatalf("mount tracefs: %v: %s", err, out)
		}
	}
	tr := &kvmTrace{dir: dir}
	for _, ev := range kvmEvents {
		name := "events/kvm/" + ev + "/enable"
		if b, _ := os.ReadFile(filepath.Join(dir, name)); strings.TrimSpace(string(b)) != "1" {
			t.Logf("tracing %s was off: switching it on", ev)
			tr.write(t, "buffer_size_kb", "8192")
			tr.write(t, name, "1")
		}
	}
	tr.write(t, "tracing_on", "1")
	tr.clear(t) // nothing from an earlier boot
	return tr
}

func (tr *kvmTrace) write(t *testing.T, name, value string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(tr.dir, name), []byte(value), 0); err != nil {
		t.Fatalf("tracefs %s: %v", name, err)
	}
}

// clear empties the main trace and the lab's faults instance.
func (tr *kvmTrace) clear(t *testing.T) {
	tr.write(t, "trace", "")
	if _, err := os.Stat(filepath.Join(tr.dir, faultsTrace)); err == nil {
		tr.write(t, faultsTrace, "")
	}
}

// shutdownTail returns the last lines before the first SHUTDOWN exit
// in the trace, or "" when no vCPU triple-faulted.
func (tr *kvmTrace) shutdownTail(t *testing.T, n int) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(tr.dir, "trace"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		if strings.Contains(l, "kvm_exit:") && strings.Contains(l, "reason shutdown") {
			return strings.Join(lines[max(0, i-n):i+1], "\n")
		}
	}
	return ""
}

// shutdownTails returns, for every SHUTDOWN exit in the trace, the n
// events of the same thread before it (the trace names each event's
// thread as comm-TID): what each vCPU that triple-faulted did last.
func (tr *kvmTrace) shutdownTails(n int) string {
	b, err := os.ReadFile(filepath.Join(tr.dir, "trace"))
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(string(b), "\n")
	var out []string
	for i, l := range lines {
		if !strings.Contains(l, "kvm_exit:") || !strings.Contains(l, "reason shutdown") {
			continue
		}
		thread := strings.Fields(l)[0]
		var mine []string
		for j := i; j >= 0 && len(mine) <= n; j-- {
			if f := strings.Fields(lines[j]); len(f) > 0 && f[0] == thread {
				mine = append(mine, lines[j])
			}
		}
		slices.Reverse(mine)
		out = append(out, fmt.Sprintf("%s's last %d KVM events:", thread, len(mine)))
		out = append(out, mine...)
	}
	return strings.Join(out, "\n")
}

// threadTail returns the last n trace lines of process pid's threads
// (the trace names each event's thread as comm-TID).
func (tr *kvmTrace) threadTail(pid, n int) string {
	b, err := os.ReadFile(filepath.Join(tr.dir, "trace"))
	if err != nil {
		return err.Error()
	}
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	var mine []string
	for _, l := range strings.Split(string(b), "\n") {
		for _, task := range tasks {
			if strings.Contains(l, "-"+task.Name()+" ") {
				mine = append(mine, l)
				break
			}
		}
	}
	return strings.Join(mine[max(0, len(mine)-n):], "\n")
}
