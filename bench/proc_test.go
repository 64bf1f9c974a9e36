package bench

import (
	"context"
	"os/exec"
	"testing"
	"time"
)

func TestStartProcReportsEarlyExit(t *testing.T) {
	in := &Instance{}
	_, err := startProc(context.Background(), exec.Command("sh", "-c", "echo dying; exit 3"), in)
	if err == nil {
		t.Fatal("a process that ended without its marker was ready")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := startProc(ctx, exec.Command("sleep", "30"), &Instance{}); err == nil {
		t.Fatal("a process that never printed its marker was ready")
	}
}
