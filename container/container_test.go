package container

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmmlab/vmm/cgroup"
)

// workloadRootfs builds cmd/testworkload statically and a rootfs
// holding it, once per test binary run.
func workloadRootfs(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "testworkload")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/vmmlab/vmm/cmd/testworkload")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build testworkload: %v\n%s", err, out)
	}
	root, err := Rootfs(filepath.Join(dir, "cache"), []string{bin})
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// runtimeFor finds a runtime; the container tests need root and crun and
// runc installed (make deps), which CI has: they fail, not skip, without.
func runtimeFor(t *testing.T, name string) *Runtime {
	t.Helper()
	mode, err := cgroup.DetectMode(cgroup.Root)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Find(name, mode)
	if err != nil {
		t.Fatalf("%v (the container tests need root and `apt-get install crun runc`)", err)
	}
	t.Cleanup(r.Close)
	t.Logf("%s: %s, cgroups %v %s", name, r.Version, mode, r.Workaround())
	return r
}

func testConfig(rootfs, id string, args ...string) Config {
	return Config{ID: id, Args: args, Rootfs: rootfs, Group: "/vmm-test/" + id, MemLimit: 64 << 20, Pids: 64, CPUs: 1}
}

// checkGone verifies that nothing of the container is left: the
// runtime's state, the cgroup, the bundle, mounts below the bundle.
func checkGone(t *testing.T, r *Runtime, ct *Container) {
	t.Helper()
	if out, err := r.command(context.Background(), "state", ct.cfg.ID).CombinedOutput(); err == nil && r.ns == nil {
		t.Errorf("%s state %s still succeeds after Stop: %s", r.Name, ct.cfg.ID, out)
	}
	if r.ns != nil {
		var out strings.Builder
		cmd := r.command(context.Background(), "list", "-q")
		cmd.Stdout = &out
		if err := r.start(cmd); err == nil {
			cmd.Wait()
			if strings.Contains(out.String(), ct.cfg.ID) {
				t.Errorf("%s list still shows %s", r.Name, ct.cfg.ID)
			}
		}
	}
	if left := cgroup.Leftovers(cgroup.Root, r.Mode, ct.cfg.Group); len(left) > 0 {
		t.Errorf("cgroup directories left: %v", left)
	}
	if left := cgroup.Leftovers(cgroup.Root, r.Mode, filepath.Dir(ct.cfg.Group)); len(left) > 0 {
		t.Errorf("the emptied parent cgroup was left: %v", left)
	}
	if _, err := os.Stat(ct.bundle); !os.IsNotExist(err) {
		t.Errorf("bundle %s left: %v", ct.bundle, err)
	}
	if mi, err := os.ReadFile("/proc/self/mountinfo"); err == nil && strings.Contains(string(mi), ct.bundle) {
		t.Errorf("mounts below %s left", ct.bundle)
	}
}

func TestRuntimes(t *testing.T) {
	rootfs := workloadRootfs(t)
	for _, name := range []string{"crun", "runc"} {
		t.Run(name, func(t *testing.T) {
			r := runtimeFor(t, name)
			t.Run("marker and exit status", func(t *testing.T) { testMarkerAndExit(t, r, rootfs) })
			t.Run("memory limit", func(t *testing.T) { testMemoryLimit(t, r, rootfs) })
			t.Run("cancel", func(t *testing.T) { testCancel(t, r, rootfs) })
			t.Run("explain", func(t *testing.T) { testExplain(t, r, rootfs) })
		})
	}
}

// The workload's marker line arrives, its exit status comes back, the
// cgroup shows memory, and Stop leaves nothing behind.
func testMarkerAndExit(t *testing.T, r *Runtime, rootfs string) {
	state := t.TempDir()
	id := fmt.Sprintf("vmmtest-%s-hello", r.Name)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ct, err := r.Start(ctx, testConfig(rootfs, id, "testworkload", "sleep", "1"), StartOptions{StateDir: state, Marker: "SLEEPING"})
	if err != nil {
		t.Fatal(err)
	}
	defer ct.Stop()
	if ct.MarkerAfter <= 0 {
		t.Errorf("marker time %v", ct.MarkerAfter)
	}
	mem, err := ct.Memory()
	if err != nil || mem.Current == 0 {
		t.Errorf("cgroup memory %+v %v", mem, err)
	}
	exit, err := ct.Wait(ctx, nil)
	if err != nil || exit != (Exit{Code: 0}) {
		t.Errorf("exit %v %v; output %q", exit, err, ct.Output())
	}
	if err := ct.Stop(); err != nil {
		t.Error(err)
	}
	checkGone(t, r, ct)
	t.Logf("%s: marker after %v, memory %d KiB (peak %d KiB)", r.Name, ct.MarkerAfter.Round(time.Millisecond), mem.Current>>10, mem.Peak>>10)

	ct, err = r.Start(ctx, testConfig(rootfs, id+"7", "testworkload", "7"), StartOptions{StateDir: state, Marker: "WORKLOAD-HELLO"})
	if err != nil {
		t.Fatal(err)
	}
	defer ct.Stop()
	if exit, err := ct.Wait(ctx, nil); err != nil || exit.Code != 7 || exit.OOMKilled {
		t.Errorf("exit %v %v, want status 7", exit, err)
	}
	if !strings.Contains(ct.Output(), `WORKLOAD-HELLO args=["7"]`) {
		t.Errorf("output %q", ct.Output())
	}
	if err := ct.Stop(); err != nil {
		t.Error(err)
	}
	checkGone(t, r, ct)
}

// A workload that allocates past its memory limit is OOM-killed and
// reported as such.
func testMemoryLimit(t *testing.T, r *Runtime, rootfs string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := testConfig(rootfs, fmt.Sprintf("vmmtest-%s-oom", r.Name), "testworkload", "alloc", "256")
	c.MemLimit = 32 << 20
	ct, err := r.Start(ctx, c, StartOptions{StateDir: t.TempDir(), Marker: "ALLOC-START"})
	if err != nil {
		t.Fatal(err)
	}
	defer ct.Stop()
	exit, err := ct.Wait(ctx, nil)
	if err != nil || !exit.OOMKilled || exit.Signal != "SIGKILL" {
		t.Errorf("exit %v (%+v) %v, want OOM-killed; output %q", exit, exit, err, ct.Output())
	}
	if strings.Contains(ct.Output(), "ALLOC-DONE") {
		t.Error("the workload allocated 256 MiB under a 32 MiB limit")
	}
	if err := ct.Stop(); err != nil {
		t.Error(err)
	}
	checkGone(t, r, ct)
}

// A start abandoned while waiting for a marker (Ctrl-C) removes the
// running container.
func testCancel(t *testing.T, r *Runtime, rootfs string) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	c := testConfig(rootfs, fmt.Sprintf("vmmtest-%s-cancel", r.Name), "testworkload", "sleep", "600")
	state := t.TempDir()
	ct, err := r.Start(ctx, c, StartOptions{StateDir: state, Marker: "NEVER-PRINTED"})
	if err == nil {
		ct.Stop()
		t.Fatal("Start returned without the marker")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Start: %v, want the context's deadline", err)
	}
	if left := cgroup.Leftovers(cgroup.Root, r.Mode, c.Group); len(left) > 0 {
		t.Errorf("cgroup directories left: %v", left)
	}
	if entries, _ := os.ReadDir(state); len(entries) > 0 {
		t.Errorf("bundles left in %s: %v", state, entries)
	}
}

// A rootfs is built once and reused for the same programs.
func TestRootfsReused(t *testing.T) {
	rootfs := workloadRootfs(t)
	prog := filepath.Join(rootfs, "bin", "testworkload")
	again, err := Rootfs(filepath.Dir(filepath.Dir(rootfs)), []string{prog})
	if err != nil {
		t.Fatal(err)
	}
	if again != rootfs {
		t.Errorf("second build at %s, first at %s", again, rootfs)
	}
	for _, p := range []string{"proc", "dev", "sys", "tmp", "etc/passwd"} {
		if _, err := os.Stat(filepath.Join(rootfs, p)); err != nil {
			t.Error(err)
		}
	}
}

func TestRuntimeCloseTwice(t *testing.T) {
	ns, err := newMountNS(t.TempDir())
	if err != nil {
		t.Skipf("no private mount namespace here: %v", err)
	}
	r := &Runtime{Name: "crun", ns: ns}
	r.Close()
	r.Close() // panicked with "close of closed channel" before
}

// --explain's facts, read from the kernel between create and start: the
// namespaces the spec asks for are new, the limits are the ones asked
// for, root keeps only three capabilities, no_new_privs is set.
func testExplain(t *testing.T, r *Runtime, rootfs string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var facts []string
	cfg := testConfig(rootfs, "vmmtest-"+r.Name+"-explain", "testworkload", "0")
	ct, err := r.Start(ctx, cfg, StartOptions{StateDir: t.TempDir(), Explain: func(f []string) { facts = f }})
	if err != nil {
		t.Fatal(err)
	}
	defer ct.Stop()
	ct.Wait(ctx, nil)
	all := strings.Join(facts, "\n")
	for _, want := range []string{"A new PID namespace", "A new network namespace", "A new IPC namespace", "A new UTS (hostname) namespace",
		"A new mount namespace", "The host's user namespace, shared", "67108864", "= 64.", "CAP_KILL, CAP_NET_BIND_SERVICE, CAP_AUDIT_WRITE",
		"no_new_privs 1", "/ (", "ro)", "/proc (proc"} {
		if !strings.Contains(all, want) {
			t.Errorf("--explain lacks %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "CAP_SYS_ADMIN") {
		t.Errorf("the container kept CAP_SYS_ADMIN:\n%s", all)
	}
}
