package lab

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A guest that prints and then falls silent is stopped after Idle, long
// before Timeout, and the run counts as timed out.
func TestBootStopsSilentGuest(t *testing.T) {
	fake := filepath.Join(t.TempDir(), "qemu")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho LAB-BOOTED\nexec sleep 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	q := QEMU{Binary: fake, Memory: "1G", SMP: 1, Timeout: time.Minute, Idle: 500 * time.Millisecond}
	start := time.Now()
	lines, timedOut, err := q.Boot(context.Background(), io.Discard)
	if err != nil || !timedOut || len(lines) != 1 || lines[0] != "LAB-BOOTED" {
		t.Fatalf("lines %q timedOut %v err %v", lines, timedOut, err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("took %v to notice the silent guest", d)
	}
}

func TestBootMissingQEMU(t *testing.T) {
	q := QEMU{Binary: filepath.Join(t.TempDir(), "none"), Timeout: time.Second}
	if _, _, err := q.Boot(context.Background(), io.Discard); err == nil {
		t.Fatal("missing QEMU accepted")
	}
}
