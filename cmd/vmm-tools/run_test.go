package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// vmm run's own failures are 125, as docker run's, and say why in one
// line; nothing starts.
func TestRunRefusesBadInput(t *testing.T) {
	t.Setenv("VMM_STORE", t.TempDir())
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no image", nil, "usage: vmm run"},
		{"bad flag", []string{"--no-such-flag", "img"}, "unknown flag"},
		{"bad virtio", []string{"--kernel", "/etc/passwd", "--virtio", "usb", "busybox"}, "--virtio"},
		{"missing kernel", []string{"--kernel", "/nonexistent/bzImage", "busybox"}, "/nonexistent/bzImage"},
		{"unknown image", []string{"--kernel", "/etc/passwd", "no-such-image"}, "no-such-image"},
		{"negative stop timeout", []string{"--kernel", "/etc/passwd", "--stop-timeout", "-1", "busybox"}, "--stop-timeout"},
	} {
		var stdout, stderr bytes.Buffer
		code := dispatch(append([]string{"run"}, c.args...), &stdout, &stderr)
		if code != 125 || !strings.Contains(stderr.String(), c.want) || stdout.Len() != 0 {
			t.Errorf("%s: exit %d, stdout %q, stderr %q (want 125 and %q)", c.name, code, stdout.String(), stderr.String(), c.want)
		}
	}
}

func TestChooseKernel(t *testing.T) {
	dir := t.TempDir()
	k := filepath.Join(dir, "bzImage")
	os.WriteFile(k, []byte("kernel"), 0o644)
	got, err := chooseKernel(k, "", "")
	if err != nil || got.kernel != k || got.initrd != "" || got.virtio != "pci" {
		t.Fatalf("--kernel alone: %+v, %v", got, err)
	}
	if got, err = chooseKernel(k, "none", "mmio"); err != nil || got.initrd != "" || got.virtio != "mmio" {
		t.Fatalf("--initrd none --virtio mmio: %+v, %v", got, err)
	}
	if _, err = chooseKernel(k, filepath.Join(dir, "none.cpio"), ""); err == nil {
		t.Error("a missing --initrd was taken")
	}
	if _, err = chooseKernel(dir, "", ""); err == nil {
		t.Error("a directory was taken as the kernel")
	}
}
