package container

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmmlab/vmm/cgroup"
)

// A start whose context ends while the runtime's create still runs
// fails with the context's error (the lab, with its cores busy, once saw
// runc's create outlast a 3 s deadline, and Start returned only "signal:
// killed"), and leaves no bundle. The runtime is a script whose create
// never ends.
func TestStartDeadlineDuringCreate(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "fake-runtime")
	script := "#!/bin/sh\nfor a in \"$@\"; do [ \"$a\" = create ] && exec sleep 60; done\nexit 0\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	rootfs := filepath.Join(dir, "rootfs")
	if err := os.MkdirAll(filepath.Join(rootfs, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "bin", "workload"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	r := &Runtime{Name: "fake", Path: fake, Mode: cgroup.V2}
	state := filepath.Join(dir, "state")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	c := Config{ID: "deadline", Args: []string{"workload"}, Rootfs: rootfs, Group: "/vmm-test-nonexistent/deadline"}
	ct, err := r.Start(ctx, c, StartOptions{StateDir: state, Marker: "NEVER"})
	if err == nil {
		ct.Stop()
		t.Fatal("Start returned while create still ran")
	}
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "fake create deadline") {
		t.Errorf("Start: %v, want the context's deadline, naming the create", err)
	}
	if entries, _ := os.ReadDir(state); len(entries) > 0 {
		t.Errorf("bundles left in %s: %v", state, entries)
	}
}
